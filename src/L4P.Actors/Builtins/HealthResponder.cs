using System.Text;
using L4P.Protocol;

namespace L4P.Builtins;

/// <summary>
/// The built-in <c>health</c> upstream: <c>GET /health</c> answers <c>200 OK</c> with body <c>OK</c>.
/// Pure: turns buffered request bytes into response bytes; the connection actor does the I/O.
/// </summary>
public static class HealthResponder
{
    public readonly record struct Outcome(byte[] Response, int Consumed, bool Close, bool NeedMore);

    /// <summary>Answers the first complete request in <paramref name="buffer"/>, if any.</summary>
    public static Outcome Next(ReadOnlySpan<byte> buffer)
    {
        var status = HttpRequestHead.TryParse(buffer, out var req, out var consumed);
        return status switch
        {
            HttpRequestHead.Status.NeedMore => new Outcome([], 0, false, true),
            HttpRequestHead.Status.Malformed => new Outcome(Response(400, "Bad Request", "bad request\n", false, true), buffer.Length, true, false),
            HttpRequestHead.Status.TooLarge => new Outcome(Response(431, "Request Header Fields Too Large", "request head too large\n", false, true), buffer.Length, true, false),
            _ => Answer(req, consumed),
        };
    }

    private static Outcome Answer(HttpRequestHead.Request req, int consumed)
    {
        var head = req.Method == "HEAD";
        var close = !req.KeepAlive;
        if (req.Method is not ("GET" or "HEAD"))
            return new Outcome(Response(405, "Method Not Allowed", "method not allowed\n", false, close, "Allow: GET, HEAD\r\n"), consumed, close, false);
        return req.Path switch
        {
            "/health" => new Outcome(Response(200, "OK", "OK", head, close), consumed, close, false),
            _ => new Outcome(Response(404, "Not Found", "not found\n", head, close), consumed, close, false),
        };
    }

    private static byte[] Response(int code, string reason, string body, bool headOnly, bool close, string extraHeaders = "")
    {
        var text = $"HTTP/1.1 {code} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {Encoding.UTF8.GetByteCount(body)}\r\n"
                   + extraHeaders
                   + (close ? "Connection: close\r\n" : "")
                   + "\r\n" + (headOnly ? "" : body);
        return Encoding.UTF8.GetBytes(text);
    }
}
