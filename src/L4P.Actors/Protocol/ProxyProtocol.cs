using System.Buffers.Binary;
using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace L4P.Protocol;

/// <summary>
/// The PROXY protocol (HAProxy's proxy-protocol.txt), versions 1 (text) and 2 (binary): writing the
/// header L4P sends to a backend (<c>send_proxy</c>), and reading the one a load balancer in front
/// of L4P sends (<c>accept_proxy</c>). Pure; the reader is incremental like the other parsers.
/// </summary>
public static class ProxyProtocol
{
    public enum Version { V1, V2 }

    public static readonly byte[] V2Signature = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    /// <summary>The longest v1 header (the spec's bound, CRLF included).</summary>
    public const int V1MaxLength = 107;

    /// <summary>The longest v2 header L4P accepts (16 fixed bytes plus addresses and TLVs).</summary>
    public const int V2MaxLength = 16 + 1024;

    /// <summary>The header for a TCP connection from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    public static byte[] Header(Version version, IPEndPoint source, IPEndPoint destination)
    {
        var src = IpEndpoints.Unmap(source);
        var dst = IpEndpoints.Unmap(destination);
        var sameFamily = src.AddressFamily == dst.AddressFamily;
        if (version == Version.V1)
        {
            if (!sameFamily) return Encoding.ASCII.GetBytes("PROXY UNKNOWN\r\n");
            var proto = src.AddressFamily == AddressFamily.InterNetwork ? "TCP4" : "TCP6";
            return Encoding.ASCII.GetBytes($"PROXY {proto} {src.Address} {dst.Address} {src.Port} {dst.Port}\r\n");
        }
        if (!sameFamily)
            return [.. V2Signature, 0x20, 0x00, 0x00, 0x00]; // LOCAL: the receiver uses the connection's own addresses
        var v4 = src.AddressFamily == AddressFamily.InterNetwork;
        var addrLen = v4 ? 12 : 36;
        var h = new byte[16 + addrLen];
        V2Signature.CopyTo(h, 0);
        h[12] = 0x21;                    // version 2, command PROXY
        h[13] = v4 ? (byte)0x11 : (byte)0x21; // TCP over IPv4 / IPv6
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(14), (ushort)addrLen);
        var ipLen = v4 ? 4 : 16;
        src.Address.TryWriteBytes(h.AsSpan(16), out _);
        dst.Address.TryWriteBytes(h.AsSpan(16 + ipLen), out _);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(16 + 2 * ipLen), (ushort)src.Port);
        BinaryPrimitives.WriteUInt16BigEndian(h.AsSpan(18 + 2 * ipLen), (ushort)dst.Port);
        return h;
    }

    public enum Status { NeedMore, Complete, Malformed }

    /// <summary>
    /// A parsed header. <see cref="Source"/> is null for v1 UNKNOWN and v2 LOCAL (health checks of the
    /// balancer): the connection's own address is then the client's.
    /// </summary>
    public readonly record struct Result(Status Status, int Length = 0, IPEndPoint? Source = null, IPEndPoint? Destination = null, string Problem = "");

    public static Result Parse(ReadOnlySpan<byte> data)
    {
        if (data.IsEmpty) return new Result(Status.NeedMore);
        if (data[0] == (byte)'P') return ParseV1(data);
        if (data[0] == V2Signature[0]) return ParseV2(data);
        return NoHeader(data);
    }

    private static Result ParseV1(ReadOnlySpan<byte> data)
    {
        var prefix = "PROXY "u8;
        if (!prefix[..Math.Min(prefix.Length, data.Length)].SequenceEqual(data[..Math.Min(prefix.Length, data.Length)]))
            return NoHeader(data);
        var end = data.IndexOf("\r\n"u8);
        if (end < 0)
            return data.Length >= V1MaxLength ? new Result(Status.Malformed, Problem: "v1 header longer than 107 bytes") : new Result(Status.NeedMore);
        if (end + 2 > V1MaxLength) return new Result(Status.Malformed, Problem: "v1 header longer than 107 bytes");
        var parts = Encoding.ASCII.GetString(data[..end]).Split(' ');
        if (parts.Length == 2 && parts[1] == "UNKNOWN" || parts.Length > 2 && parts[1] == "UNKNOWN")
            return new Result(Status.Complete, end + 2);
        if (parts.Length != 6 || parts[1] is not ("TCP4" or "TCP6"))
            return new Result(Status.Malformed, Problem: $"v1 header is not PROXY TCP4|TCP6 src dst sport dport: {LogText.Escape(data[..end])}");
        var family = parts[1] == "TCP4" ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        if (!TryParseV1Address(parts[2], family, out var src) || !TryParseV1Address(parts[3], family, out var dst)
            || !TryPort(parts[4], out var sport) || !TryPort(parts[5], out var dport))
            return new Result(Status.Malformed, Problem: $"bad address or port in v1 header: {LogText.Escape(data[..end])}");
        return new Result(Status.Complete, end + 2, new IPEndPoint(src, sport), new IPEndPoint(dst, dport));
    }

    /// <summary>
    /// A v1 address as the spec writes it, not every form <see cref="IPAddress.TryParse(string, out IPAddress)"/>
    /// takes: IPv4 as exactly four decimal numbers 0-255 without leading zeroes (no <c>127.1</c>,
    /// <c>0x7f.0.0.1</c>, <c>010.0.0.1</c>, <c>2130706433</c>); IPv6 as groups of 1-4 hex digits with at
    /// most one <c>::</c>, 128 bits in all, optionally ending in such an IPv4 (as inet_ntop writes an
    /// IPv4-mapped address); no zone (<c>%eth0</c>), no brackets.
    /// </summary>
    public static bool TryParseV1Address(string text, AddressFamily family, [NotNullWhen(true)] out IPAddress? address)
    {
        address = null;
        var wellFormed = family switch
        {
            AddressFamily.InterNetwork => IsDottedQuad(text),
            AddressFamily.InterNetworkV6 => IsIPv6Text(text),
            _ => false,
        };
        return wellFormed && IPAddress.TryParse(text, out address) && address.AddressFamily == family;
    }

    private static bool IsDottedQuad(ReadOnlySpan<char> text)
    {
        var octets = 0;
        foreach (var range in text.Split('.'))
        {
            var octet = text[range];
            if (++octets > 4 || octet.Length is 0 or > 3 || octet.Length > 1 && octet[0] == '0') return false;
            var n = 0;
            foreach (var c in octet)
            {
                if (!char.IsAsciiDigit(c)) return false;
                n = n * 10 + (c - '0');
            }
            if (n > 255) return false;
        }
        return octets == 4;
    }

    private static bool IsIPv6Text(string text)
    {
        var gap = text.IndexOf("::", StringComparison.Ordinal);
        if (gap >= 0 && text.IndexOf("::", gap + 1, StringComparison.Ordinal) >= 0) return false; // one "::" at most (":::" too)
        string[] halves = gap < 0 ? [text] : [text[..gap], text[(gap + 2)..]];
        var groups = 0;
        for (var h = 0; h < halves.Length; h++)
        {
            if (halves[h].Length == 0) continue; // "::" at either end
            var parts = halves[h].Split(':');
            for (var i = 0; i < parts.Length; i++)
            {
                var part = parts[i];
                if (h == halves.Length - 1 && i == parts.Length - 1 && part.Contains('.'))
                {
                    if (!IsDottedQuad(part)) return false;
                    groups += 2; // the IPv4 tail is the last 32 bits
                    continue;
                }
                if (part.Length is 0 or > 4) return false;
                foreach (var c in part)
                    if (!char.IsAsciiHexDigit(c)) return false;
                groups++;
            }
        }
        return gap < 0 ? groups == 8 : groups <= 7;
    }

    /// <summary>What the client sent instead, escaped (it reaches the log): its first bytes.</summary>
    private static Result NoHeader(ReadOnlySpan<byte> data) =>
        new(Status.Malformed, Problem: $"no PROXY protocol header (the connection starts with {LogText.Escape(data, 16)})");

    private static bool TryPort(string s, out int port) =>
        int.TryParse(s, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out port)
        && port is >= 0 and <= 65535 && (s.Length == 1 || s[0] != '0');

    private static Result ParseV2(ReadOnlySpan<byte> data)
    {
        var n = Math.Min(data.Length, V2Signature.Length);
        if (!data[..n].SequenceEqual(V2Signature.AsSpan(0, n))) return NoHeader(data);
        if (data.Length < 16) return new Result(Status.NeedMore);
        var verCmd = data[12];
        if (verCmd >> 4 != 2) return new Result(Status.Malformed, Problem: $"v2 header with version {verCmd >> 4}");
        var len = BinaryPrimitives.ReadUInt16BigEndian(data[14..]);
        if (16 + len > V2MaxLength) return new Result(Status.Malformed, Problem: $"v2 header of {16 + len} bytes");
        if (data.Length < 16 + len) return new Result(Status.NeedMore);
        var total = 16 + len;
        switch (verCmd & 0x0F)
        {
            case 0x0: return new Result(Status.Complete, total); // LOCAL
            case 0x1: break;                                   // PROXY
            default: return new Result(Status.Malformed, Problem: $"v2 command {verCmd & 0x0F}");
        }
        var body = data.Slice(16, len);
        switch (data[13])
        {
            case 0x11 when len >= 12: // TCP over IPv4
                return new Result(Status.Complete, total,
                    new IPEndPoint(new IPAddress(body[..4]), BinaryPrimitives.ReadUInt16BigEndian(body[8..])),
                    new IPEndPoint(new IPAddress(body[4..8]), BinaryPrimitives.ReadUInt16BigEndian(body[10..])));
            case 0x21 when len >= 36: // TCP over IPv6
                return new Result(Status.Complete, total,
                    new IPEndPoint(new IPAddress(body[..16]), BinaryPrimitives.ReadUInt16BigEndian(body[32..])),
                    new IPEndPoint(new IPAddress(body[16..32]), BinaryPrimitives.ReadUInt16BigEndian(body[34..])));
            case 0x00: // UNSPEC
                return new Result(Status.Complete, total);
            default:
                return new Result(Status.Malformed, Problem: $"v2 address family/protocol 0x{data[13]:x2} not TCP or too short");
        }
    }
}
