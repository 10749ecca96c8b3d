using System.Text;

namespace L4P.Protocol;

/// <summary>
/// Parses an HTTP proxy's answer to <c>CONNECT</c>. Pure and incremental: call <see cref="Parse"/>
/// with all bytes received so far; it answers need-more until the header block is complete, then the
/// status (code, status line, header length: bytes after it belong to the tunnel), or malformed / too large.
/// </summary>
public static class ConnectReply
{
    /// <summary>The largest header block accepted from a proxy.</summary>
    public const int MaxHeaderBytes = 64 * 1024;

    public enum Status { NeedMore, Complete, Malformed, TooLarge }

    public readonly record struct Result(Status Status, int Code = 0, string StatusLine = "", int HeaderLength = 0, string Problem = "")
    {
        public bool IsSuccess => Status == Status.Complete && Code is >= 200 and < 300;
    }

    public static Result Parse(ReadOnlySpan<byte> data)
    {
        // The status line can be judged before the block ends: fail fast on garbage.
        var lineEnd = data.IndexOf((byte)'\n');
        var firstLine = lineEnd < 0 ? data : data[..lineEnd];
        var prefix = firstLine[..Math.Min(firstLine.Length, 5)];
        if (!"HTTP/"u8.StartsWith(prefix))
            return new Result(Status.Malformed, Problem: $"not an HTTP reply: {LogText.Escape(firstLine, 60)}");

        var end = data.IndexOf("\r\n\r\n"u8);
        var terminator = 4;
        var lfEnd = data.IndexOf("\n\n"u8);
        if (lfEnd >= 0 && (end < 0 || lfEnd < end)) { end = lfEnd; terminator = 2; } // tolerate bare LF
        if (end < 0)
            return data.Length >= MaxHeaderBytes
                ? new Result(Status.TooLarge, Problem: $"no end of headers in {MaxHeaderBytes} bytes")
                : new Result(Status.NeedMore);
        if (end + terminator > MaxHeaderBytes)
            return new Result(Status.TooLarge, Problem: $"header block of {end + terminator} bytes");

        var statusLine = firstLine.TrimEnd((byte)'\r');
        // HTTP/1.x SP 3DIGIT [SP reason]
        if (statusLine.Length < 12 || !statusLine.StartsWith("HTTP/1."u8) || !char.IsAsciiDigit((char)statusLine[7])
            || statusLine[8] != (byte)' ' || !IsDigits(statusLine.Slice(9, 3)) || statusLine.Length > 12 && statusLine[12] != (byte)' ')
            return new Result(Status.Malformed, Problem: $"bad status line: {LogText.Escape(statusLine, 60)}");
        var code = (statusLine[9] - '0') * 100 + (statusLine[10] - '0') * 10 + (statusLine[11] - '0');
        // Latin-1: one character per byte, so whoever logs it can escape every byte the proxy sent.
        return new Result(Status.Complete, code, Encoding.Latin1.GetString(statusLine), end + terminator);
    }

    private static bool IsDigits(ReadOnlySpan<byte> s)
    {
        foreach (var b in s) if (!char.IsAsciiDigit((char)b)) return false;
        return true;
    }
}
