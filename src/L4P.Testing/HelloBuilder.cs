using System.Buffers.Binary;
using System.Text;

namespace L4P.Testing;

/// <summary>
/// Builds TLS ClientHello bytes by hand: what a client sends first to a <c>tls: true</c> server, whose SNI
/// picks the route. <see cref="Hello"/> gives a complete one for a name; the parts build the edge cases
/// real TLS stacks never send (no SNI, odd name types, records split small).
/// </summary>
public static class HelloBuilder
{
    /// <summary>One extension: type, length, body.</summary>
    public static byte[] Extension(ushort type, byte[] body)
    {
        var e = new byte[4 + body.Length];
        BinaryPrimitives.WriteUInt16BigEndian(e, type);
        BinaryPrimitives.WriteUInt16BigEndian(e.AsSpan(2), (ushort)body.Length);
        body.CopyTo(e, 4);
        return e;
    }

    /// <summary>server_name extension with the given (type, name) entries.</summary>
    public static byte[] Sni(params (byte Type, string Name)[] names)
    {
        var list = new MemoryStream();
        foreach (var (type, name) in names)
        {
            var n = Encoding.ASCII.GetBytes(name);
            list.WriteByte(type);
            list.WriteByte((byte)(n.Length >> 8));
            list.WriteByte((byte)n.Length);
            list.Write(n);
        }
        var l = list.ToArray();
        var body = new byte[2 + l.Length];
        BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)l.Length);
        l.CopyTo(body, 2);
        return Extension(0, body);
    }

    /// <summary>server_name extension with one host name.</summary>
    public static byte[] Sni(string name) => Sni(((byte)0, name));

    /// <summary>The handshake message (type 1 + 3-byte length + body).</summary>
    public static byte[] Handshake(IEnumerable<byte[]> extensions, ushort version = 0x0303, bool withExtensionsBlock = true, int sessionIdLength = 32)
    {
        var body = new MemoryStream();
        body.WriteByte((byte)(version >> 8));
        body.WriteByte((byte)version);
        body.Write(new byte[32]); // random
        body.WriteByte((byte)sessionIdLength);
        body.Write(new byte[sessionIdLength]);
        body.Write([0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f]); // two cipher suites
        body.Write([0x01, 0x00]); // null compression
        if (withExtensionsBlock)
        {
            var ext = extensions.SelectMany(e => e).ToArray();
            body.WriteByte((byte)(ext.Length >> 8));
            body.WriteByte((byte)ext.Length);
            body.Write(ext);
        }
        var b = body.ToArray();
        return [0x01, (byte)(b.Length >> 16), (byte)(b.Length >> 8), (byte)b.Length, .. b];
    }

    /// <summary>Wraps handshake bytes in TLS records of at most <paramref name="fragment"/> bytes each.</summary>
    public static byte[] Records(byte[] handshake, int fragment = 16384, ushort recordVersion = 0x0301)
    {
        var o = new MemoryStream();
        for (var i = 0; i < handshake.Length; i += fragment)
        {
            var n = Math.Min(fragment, handshake.Length - i);
            o.Write([0x16, (byte)(recordVersion >> 8), (byte)recordVersion, (byte)(n >> 8), (byte)n]);
            o.Write(handshake, i, n);
        }
        return o.ToArray();
    }

    /// <summary>A complete ClientHello naming <paramref name="sni"/> (none when null), in records of at most <paramref name="fragment"/> bytes.</summary>
    public static byte[] Hello(string? sni, int fragment = 16384, params byte[][] otherExtensions) =>
        Records(Handshake(sni is null ? otherExtensions : [.. otherExtensions, Sni(sni)]), fragment);
}
