using System.Text;

namespace L4P.Protocol;

/// <summary>
/// A tiny, strict HTTP/1.x request-head parser for the built-in health endpoint.
/// Pure: fed the bytes buffered so far, it answers need-more, a request (with the length it consumed),
/// or malformed. Bodies are not supported (a request announcing one is malformed): health checks are GETs.
/// </summary>
public static class HttpRequestHead
{
    public const int MaxHeadBytes = 8192;

    public enum Status { NeedMore, Complete, Malformed, TooLarge }

    /// <summary><see cref="Authorization"/>: the header's value, null when absent (the admin built-in's token).</summary>
    public readonly record struct Request(string Method, string Path, bool KeepAlive, string? Authorization = null);

    public static Status TryParse(ReadOnlySpan<byte> buffer, out Request request, out int consumed)
    {
        request = default;
        consumed = 0;
        var end = buffer.IndexOf("\r\n\r\n"u8);
        if (end < 0)
            return buffer.Length >= MaxHeadBytes ? Status.TooLarge
                : LooksLikeHttpSoFar(buffer) ? Status.NeedMore : Status.Malformed;
        if (end + 4 > MaxHeadBytes) return Status.TooLarge;
        consumed = end + 4;

        var head = buffer[..end];
        var lineEnd = head.IndexOf("\r\n"u8);
        var requestLine = lineEnd < 0 ? head : head[..lineEnd];
        var sp1 = requestLine.IndexOf((byte)' ');
        if (sp1 <= 0) return Status.Malformed;
        var rest = requestLine[(sp1 + 1)..];
        var sp2 = rest.IndexOf((byte)' ');
        if (sp2 <= 0) return Status.Malformed;
        var method = requestLine[..sp1];
        var target = rest[..sp2];
        var version = rest[(sp2 + 1)..];
        if (!IsToken(method) || target[0] != (byte)'/' || target.IndexOfAnyInRange((byte)0, (byte)0x20) >= 0) return Status.Malformed;
        bool keepAlive;
        if (version.SequenceEqual("HTTP/1.1"u8)) keepAlive = true;
        else if (version.SequenceEqual("HTTP/1.0"u8)) keepAlive = false;
        else return Status.Malformed;

        var headers = lineEnd < 0 ? [] : head[(lineEnd + 2)..];
        string? authorization = null;
        while (!headers.IsEmpty)
        {
            var next = headers.IndexOf("\r\n"u8);
            var line = next < 0 ? headers : headers[..next];
            headers = next < 0 ? [] : headers[(next + 2)..];
            var colon = line.IndexOf((byte)':');
            if (colon <= 0 || !IsToken(line[..colon])) return Status.Malformed;
            var name = line[..colon];
            var value = line[(colon + 1)..].Trim((byte)' ').Trim((byte)'\t');
            if (Ascii.EqualsIgnoreCase(name, "connection"u8))
            {
                if (ContainsTokenIgnoreCase(value, "close"u8)) keepAlive = false;
                else if (ContainsTokenIgnoreCase(value, "keep-alive"u8)) keepAlive = true;
            }
            else if (Ascii.EqualsIgnoreCase(name, "authorization"u8))
            {
                // Two credentials leave it open which one is meant: refused rather than guessed.
                if (authorization is not null) return Status.Malformed;
                authorization = Encoding.Latin1.GetString(value);
            }
            else if (Ascii.EqualsIgnoreCase(name, "content-length"u8) && !value.SequenceEqual("0"u8)
                     || Ascii.EqualsIgnoreCase(name, "transfer-encoding"u8))
                return Status.Malformed;
        }

        var path = Encoding.ASCII.GetString(target);
        var query = path.IndexOf('?');
        if (query >= 0) path = path[..query];
        request = new Request(Encoding.ASCII.GetString(method), path, keepAlive, authorization);
        return Status.Complete;
    }

    private static bool LooksLikeHttpSoFar(ReadOnlySpan<byte> buffer)
    {
        // Reject binary garbage early instead of waiting for 8 KiB of it.
        foreach (var b in buffer)
            if (b is < 0x20 and not ((byte)'\r' or (byte)'\n' or (byte)'\t') || b >= 0x7f) return false;
        return true;
    }

    private static bool IsToken(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return false;
        foreach (var b in s)
            if (!(char.IsAsciiLetterOrDigit((char)b) || "!#$%&'*+-.^_`|~"u8.Contains(b))) return false;
        return true;
    }

    private static bool ContainsTokenIgnoreCase(ReadOnlySpan<byte> value, ReadOnlySpan<byte> token)
    {
        foreach (var range in value.Split((byte)','))
            if (Ascii.EqualsIgnoreCase(value[range].Trim((byte)' '), token)) return true;
        return false;
    }
}
