using System.Text;
using L4P.Protocol;

namespace L4P.Builtins;

/// <summary>
/// The built-in <c>health</c> upstream: <c>GET /health</c> answers <c>200 OK</c> with body <c>OK</c>,
/// <c>GET /metrics</c> the Prometheus text. Pure: turns buffered request bytes into response bytes
/// (or "render the metrics first"); the connection actor does the I/O.
/// </summary>
public static class HealthResponder
{
    /// <summary>What must be rendered (off the actor) before answering.</summary>
    public enum Render { None, Metrics, StatusJson, StatusPage, Cluster }

    /// <summary>
    /// <see cref="NeedMore"/>: wait for more bytes. <see cref="Render"/> not None: render it and answer with
    /// <see cref="Rendered"/>. Otherwise send <see cref="Response"/>, drop <see cref="Consumed"/> bytes.
    /// </summary>
    public readonly record struct Outcome(byte[] Response, int Consumed, bool Close, bool NeedMore, Render Render = Render.None, bool HeadOnly = false);

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
            "/metrics" => new Outcome([], consumed, close, false, Render.Metrics, head),
            "/status.json" => new Outcome([], consumed, close, false, Render.StatusJson, head),
            "/cluster" => new Outcome([], consumed, close, false, Render.Cluster, head),
            "/status" or "/status/" => new Outcome([], consumed, close, false, Render.StatusPage, head),
            _ => new Outcome(Response(404, "Not Found", "not found\n", head, close), consumed, close, false),
        };
    }

    /// <summary>The answer once <paramref name="render"/> produced <paramref name="body"/>.</summary>
    public static byte[] Rendered(Render render, byte[] body, bool headOnly, bool close) =>
    [
        .. Head(200, "OK", render switch
            {
                Render.Metrics => Metrics.ProxyMetrics.ContentType,
                Render.StatusPage => "text/html; charset=utf-8",
                _ => "application/json; charset=utf-8",
            }, body.Length, close, "Cache-Control: no-store\r\n"),
        .. headOnly ? [] : body,
    ];

    private static byte[] Response(int code, string reason, string body, bool headOnly, bool close, string extraHeaders = "")
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        return [.. Head(code, reason, "text/plain; charset=utf-8", bytes.Length, close, extraHeaders), .. headOnly ? [] : bytes];
    }

    private static byte[] Head(int code, string reason, string contentType, int length, bool close, string extraHeaders) =>
        Encoding.ASCII.GetBytes($"HTTP/1.1 {code} {reason}\r\nContent-Type: {contentType}\r\nContent-Length: {length}\r\n"
                                + extraHeaders + (close ? "Connection: close\r\n" : "") + "\r\n");
}
