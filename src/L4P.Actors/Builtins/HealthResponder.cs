using System.Text;
using L4P.Protocol;

namespace L4P.Builtins;

/// <summary>
/// The built-in HTTP upstreams. <c>health</c>: <c>GET /health</c> answers <c>200 OK</c> with body <c>OK</c>,
/// and every other path is 404, so a health port reveals nothing else. <c>admin</c> (an
/// <see cref="AdminGate"/> given): the same <c>/health</c>, plus <c>/metrics</c>, <c>/status</c>,
/// <c>/status.json</c> and <c>/cluster</c>, each request first passing the gate or getting a bare 403.
/// Pure: turns buffered request bytes into response bytes (or "render this first"); the connection
/// actor does the I/O.
/// </summary>
public static class HealthResponder
{
    /// <summary>What must be rendered (off the actor) before answering.</summary>
    public enum Render { None, Metrics, StatusJson, StatusPage, Cluster }

    /// <summary>
    /// <see cref="NeedMore"/>: wait for more bytes. <see cref="Render"/> not None: render it and answer with
    /// <see cref="Rendered"/>. Otherwise send <see cref="Response"/>, drop <see cref="Consumed"/> bytes.
    /// <see cref="Refused"/> set: the answer is the 403 and the refusal is to be counted.
    /// </summary>
    public readonly record struct Outcome(byte[] Response, int Consumed, bool Close, bool NeedMore, Render Render = Render.None, bool HeadOnly = false,
        AdminRefusal? Refused = null);

    /// <summary>
    /// The same bytes whatever the reason, so a client learns nothing about why (HAProxy's and nginx's
    /// denials say as little); the connection is closed after it.
    /// </summary>
    private static readonly byte[] Forbidden = Response(403, "Forbidden", "forbidden\n", false, true);

    /// <summary>
    /// Answers the first complete request in <paramref name="buffer"/>, if any: as <c>health</c>, or as
    /// <c>admin</c> when <paramref name="admin"/> is given.
    /// </summary>
    public static Outcome Next(ReadOnlySpan<byte> buffer, AdminGate? admin = null)
    {
        var status = HttpRequestHead.TryParse(buffer, out var req, out var consumed);
        return status switch
        {
            HttpRequestHead.Status.NeedMore => new Outcome([], 0, false, true),
            HttpRequestHead.Status.Malformed => new Outcome(Response(400, "Bad Request", "bad request\n", false, true), buffer.Length, true, false),
            HttpRequestHead.Status.TooLarge => new Outcome(Response(431, "Request Header Fields Too Large", "request head too large\n", false, true), buffer.Length, true, false),
            _ => Answer(req, consumed, admin),
        };
    }

    private static Outcome Answer(HttpRequestHead.Request req, int consumed, AdminGate? admin)
    {
        // Before the method and the path: a refused client cannot probe which pages exist.
        if (admin?.Check(req.Authorization) is { } refused)
            return new Outcome(Forbidden, consumed, true, false, Refused: refused);
        var head = req.Method == "HEAD";
        var close = !req.KeepAlive;
        if (req.Method is not ("GET" or "HEAD"))
            return new Outcome(Response(405, "Method Not Allowed", "method not allowed\n", false, close, "Allow: GET, HEAD\r\n"), consumed, close, false);
        if (req.Path == "/health") return new Outcome(Response(200, "OK", "OK", head, close), consumed, close, false);
        if (admin is null) return NotFound(head, close, consumed);
        return req.Path switch
        {
            "/metrics" => new Outcome([], consumed, close, false, Render.Metrics, head),
            "/status.json" => new Outcome([], consumed, close, false, Render.StatusJson, head),
            "/cluster" => new Outcome([], consumed, close, false, Render.Cluster, head),
            "/status" or "/status/" => new Outcome([], consumed, close, false, Render.StatusPage, head),
            _ => NotFound(head, close, consumed),
        };
    }

    private static Outcome NotFound(bool head, bool close, int consumed) =>
        new(Response(404, "Not Found", "not found\n", head, close), consumed, close, false);

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
