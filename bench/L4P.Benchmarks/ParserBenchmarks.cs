using System.Buffers.Binary;
using System.Text;
using BenchmarkDotNet.Attributes;
using L4P.Protocol;

namespace L4P.Benchmarks;

/// <summary>The pure parsers on the connection path: ns per call and bytes allocated (goal: none but the SNI string).</summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private byte[] _hello = [];
    private byte[] _fragmentedHello = [];
    private byte[] _noSniHello = [];
    private byte[] _connectReply = [];

    [GlobalSetup]
    public void Setup()
    {
        _hello = Hello("www.example.com", 16384);
        _fragmentedHello = Hello("www.example.com", 100);
        _noSniHello = Hello(null, 16384);
        _connectReply = Encoding.ASCII.GetBytes("HTTP/1.1 200 Connection established\r\nProxy-Agent: bench\r\nVia: 1.1 proxy\r\n\r\n");
    }

    [Benchmark]
    public ClientHello.Result ClientHelloWithSni() => ClientHello.Parse(_hello);

    [Benchmark]
    public ClientHello.Result ClientHelloWithoutSni() => ClientHello.Parse(_noSniHello);

    [Benchmark]
    public ClientHello.Result ClientHelloFragmented() => ClientHello.Parse(_fragmentedHello);

    [Benchmark]
    public ConnectReply.Result ConnectReply200() => ConnectReply.Parse(_connectReply);

    /// <summary>A ClientHello shaped like a browser's: 512 bytes of other extensions, then server_name.</summary>
    private static byte[] Hello(string? sni, int fragment)
    {
        var ext = new List<byte>();
        void Extension(ushort type, byte[] body)
        {
            ext.AddRange([(byte)(type >> 8), (byte)type, (byte)(body.Length >> 8), (byte)body.Length]);
            ext.AddRange(body);
        }
        Extension(0x0a0a, []);                 // GREASE
        Extension(21, new byte[512]);          // padding
        if (sni is not null)
        {
            var name = Encoding.ASCII.GetBytes(sni);
            var body = new byte[5 + name.Length];
            BinaryPrimitives.WriteUInt16BigEndian(body, (ushort)(3 + name.Length));
            BinaryPrimitives.WriteUInt16BigEndian(body.AsSpan(3), (ushort)name.Length);
            name.CopyTo(body, 5);
            Extension(0, body);
        }
        var hello = new List<byte> { 3, 3 };
        hello.AddRange(new byte[32]);
        hello.Add(32);
        hello.AddRange(new byte[32]);
        hello.AddRange([0, 4, 0x13, 0x01, 0x13, 0x02, 1, 0, (byte)(ext.Count >> 8), (byte)ext.Count]);
        hello.AddRange(ext);
        byte[] handshake = [1, (byte)(hello.Count >> 16), (byte)(hello.Count >> 8), (byte)hello.Count, .. hello];
        var records = new List<byte>();
        for (var i = 0; i < handshake.Length; i += fragment)
        {
            var n = Math.Min(fragment, handshake.Length - i);
            records.AddRange([0x16, 3, 1, (byte)(n >> 8), (byte)n]);
            records.AddRange(handshake.AsSpan(i, n).ToArray());
        }
        return [.. records];
    }
}
