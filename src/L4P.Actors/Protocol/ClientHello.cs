using System.Buffers;
using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace L4P.Protocol;

/// <summary>
/// Reads the server name (SNI) from a TLS ClientHello without terminating TLS. Pure and incremental:
/// call <see cref="Parse"/> with all bytes received so far; it answers need-more until the whole
/// ClientHello is there (across any number of TCP segments and TLS records), then SNI found, no SNI,
/// not TLS, or malformed. Every length is checked against what is actually there; nothing is read
/// out of bounds and nothing throws on hostile input.
/// </summary>
public static class ClientHello
{
    /// <summary>The most bytes L4P buffers while waiting for a complete ClientHello.</summary>
    public const int MaxBytes = 16 * 1024;

    private const byte HandshakeRecord = 0x16;
    private const byte ClientHelloType = 0x01;
    private const ushort ServerNameExtension = 0x0000;
    private const int RecordHeader = 5;
    private const int MaxRecordPayload = 16384 + 2048; // RFC 5246 6.2.3 ciphertext bound; plaintext is 2^14

    public enum Status { NeedMore, Found, NoSni, NotTls, Malformed, TooLarge }

    public readonly record struct Result(Status Status, string? ServerName = null, string? Problem = null)
    {
        public static readonly Result NeedMore = new(Status.NeedMore);
        public static readonly Result NotTls = new(Status.NotTls);
        public static readonly Result NoSni = new(Status.NoSni);
        public static Result Malformed(string problem) => new(Status.Malformed, null, problem);
    }

    /// <summary>
    /// The name is an IPv4 or IPv6 literal, which RFC 6066 forbids as a server name: L4P routes it as no
    /// SNI and never CONNECTs to it. Any form a resolver takes as an address counts (<c>127.1</c>,
    /// <c>0x7f.1</c>), since an HTTP proxy given it would connect to that address.
    /// </summary>
    public static bool IsIpLiteral(string name) => IPAddress.TryParse(name.TrimEnd('.'), out _);

    public static Result Parse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return Result.NeedMore;
        // A TLS record starts with 0x16 0x03; anything else (plain text, SSLv2 hello) is not TLS.
        if (data[0] != HandshakeRecord) return Result.NotTls;
        if (data.Length >= 2 && data[1] != 0x03) return Result.NotTls;

        // The handshake message may span several records: find how many bytes of handshake payload
        // the first record(s) hold without copying, and copy only in the fragmented case.
        if (data.Length < RecordHeader) return Result.NeedMore;
        var firstLen = BinaryPrimitives.ReadUInt16BigEndian(data[3..]);
        if (firstLen == 0 || firstLen > MaxRecordPayload) return Result.Malformed($"TLS record length {firstLen}");
        var firstAvailable = Math.Min(firstLen, data.Length - RecordHeader);
        var first = data.Slice(RecordHeader, firstAvailable);
        if (first.Length < 4) return firstAvailable < firstLen ? Result.NeedMore : Fragmented(data);
        if (first[0] != ClientHelloType) return Result.Malformed($"handshake type {first[0]} is not ClientHello");
        var helloLen = (first[1] << 16) | (first[2] << 8) | first[3];
        if (helloLen + 4 > MaxBytes) return new Result(Status.TooLarge, null, $"ClientHello of {helloLen} bytes");
        if (helloLen + 4 <= firstLen)
            return first.Length < helloLen + 4 ? Result.NeedMore : ParseBody(first.Slice(4, helloLen));
        return Fragmented(data);
    }

    /// <summary>The ClientHello spans records: gather the handshake bytes into one buffer (bounded, pooled).</summary>
    private static Result Fragmented(ReadOnlySpan<byte> data)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(MaxBytes + 4);
        try
        {
            var have = 0;
            var pos = 0;
            var needed = -1;
            while (true)
            {
                if (data.Length - pos < RecordHeader) return Result.NeedMore;
                if (data[pos] != HandshakeRecord) return Result.Malformed($"record type {data[pos]} inside a fragmented ClientHello");
                if (data[pos + 1] != 0x03) return Result.Malformed("record version is not TLS");
                var len = BinaryPrimitives.ReadUInt16BigEndian(data[(pos + 3)..]);
                if (len == 0 || len > MaxRecordPayload) return Result.Malformed($"TLS record length {len}");
                var available = Math.Min(len, data.Length - pos - RecordHeader);
                var take = Math.Min(available, MaxBytes + 4 - have);
                data.Slice(pos + RecordHeader, take).CopyTo(buffer.AsSpan(have));
                have += take;
                if (needed < 0 && have >= 4)
                {
                    if (buffer[0] != ClientHelloType) return Result.Malformed($"handshake type {buffer[0]} is not ClientHello");
                    var helloLen = (buffer[1] << 16) | (buffer[2] << 8) | buffer[3];
                    if (helloLen + 4 > MaxBytes) return new Result(Status.TooLarge, null, $"ClientHello of {helloLen} bytes");
                    needed = helloLen + 4;
                }
                if (needed >= 0 && have >= needed) return ParseBody(buffer.AsSpan(4, needed - 4));
                if (available < len) return Result.NeedMore;
                pos += RecordHeader + len;
                if (pos > MaxBytes + RecordHeader * 8) return new Result(Status.TooLarge, null, "too many records");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Parses a complete ClientHello body (after the 4-byte handshake header).</summary>
    private static Result ParseBody(ReadOnlySpan<byte> hello)
    {
        var r = new Reader(hello);
        if (!r.Skip(2 + 32)) return Result.Malformed("truncated before session id"); // version, random
        if (!r.Vector8(out var sessionId) || sessionId.Length > 32) return Result.Malformed("bad session id");
        if (!r.Vector16(out var suites) || suites.Length < 2 || suites.Length % 2 != 0) return Result.Malformed("bad cipher suites");
        if (!r.Vector8(out var compression) || compression.Length < 1) return Result.Malformed("bad compression methods");
        if (r.Remaining == 0) return Result.NoSni; // no extensions at all (old clients)
        if (!r.Vector16(out var extensions) || r.Remaining != 0) return Result.Malformed("bad extensions length");

        var e = new Reader(extensions);
        while (e.Remaining > 0)
        {
            if (!e.U16(out var type) || !e.Vector16(out var body)) return Result.Malformed("truncated extension");
            if (type == ServerNameExtension) return ParseServerName(body);
        }
        return Result.NoSni;
    }

    private static Result ParseServerName(ReadOnlySpan<byte> body)
    {
        var r = new Reader(body);
        if (!r.Vector16(out var list) || r.Remaining != 0) return Result.Malformed("bad server_name list");
        var names = new Reader(list);
        while (names.Remaining > 0)
        {
            if (!names.U8(out var kind) || !names.Vector16(out var name)) return Result.Malformed("truncated server name");
            if (kind != 0) continue; // only host_name (0) is defined
            if (name.IsEmpty || name.Length > 255) return Result.Malformed("empty or overlong server name");
            var colons = false;
            foreach (var b in name)
            {
                colons |= b == (byte)':';
                if (!(char.IsAsciiLetterOrDigit((char)b) || b is (byte)'-' or (byte)'.' or (byte)'_' or (byte)':'))
                    return Result.Malformed("server name has characters a host name cannot have");
            }
            // A colon is only read as part of an IPv6 literal (forbidden in SNI, but sent by some clients;
            // the caller routes it as no SNI, see IsIpLiteral).
            if (colons && !(IPAddress.TryParse(Encoding.ASCII.GetString(name), out var v6) && v6.AddressFamily == AddressFamily.InterNetworkV6))
                return Result.Malformed("server name has characters a host name cannot have");
            // One trailing dot is the root; empty labels (".", "a..b", "....", found by fuzzing) are not names.
            if (name[^1] == (byte)'.') name = name[..^1];
            if (name.IsEmpty || name[0] == (byte)'.' || name.IndexOf(".."u8) >= 0)
                return Result.Malformed("server name has an empty label");
            return new Result(Status.Found, Encoding.ASCII.GetString(name).ToLowerInvariant());
        }
        return Result.NoSni;
    }

    /// <summary>Bounds-checked big-endian reads over a span.</summary>
    private ref struct Reader(ReadOnlySpan<byte> data)
    {
        private ReadOnlySpan<byte> _rest = data;

        public readonly int Remaining => _rest.Length;

        public bool Skip(int n)
        {
            if (_rest.Length < n) return false;
            _rest = _rest[n..];
            return true;
        }

        public bool U8(out byte value)
        {
            value = 0;
            if (_rest.Length < 1) return false;
            value = _rest[0];
            _rest = _rest[1..];
            return true;
        }

        public bool U16(out ushort value)
        {
            value = 0;
            if (_rest.Length < 2) return false;
            value = BinaryPrimitives.ReadUInt16BigEndian(_rest);
            _rest = _rest[2..];
            return true;
        }

        public bool Vector8(out ReadOnlySpan<byte> value) => Vector(U8(out var len) ? len : -1, out value);

        public bool Vector16(out ReadOnlySpan<byte> value) => Vector(U16(out var len) ? len : -1, out value);

        /// <summary>The <paramref name="len"/> bytes after a length prefix (-1: the prefix itself was short).</summary>
        private bool Vector(int len, out ReadOnlySpan<byte> value)
        {
            value = default;
            if (len < 0 || _rest.Length < len) return false;
            value = _rest[..len];
            _rest = _rest[len..];
            return true;
        }
    }
}
