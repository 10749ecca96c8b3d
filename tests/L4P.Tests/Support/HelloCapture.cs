using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;

namespace L4P.Tests.Support;

/// <summary>Captures the first flight (the ClientHello) that real TLS clients send.</summary>
public static class HelloCapture
{
    public static Task<byte[]> FromSslStreamAsync(string targetHost, SslProtocols protocols = SslProtocols.None) =>
        CaptureAsync(async ep =>
        {
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(ep);
            using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
            try
            {
                await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = targetHost, EnabledSslProtocols = protocols });
            }
            catch (Exception e) when (e is IOException or AuthenticationException) { }
        });

    public static Task<byte[]> FromOpensslAsync(string args) =>
        CaptureAsync(async ep =>
        {
            try { await Tools.RunAsync("openssl", $"s_client -connect {ep} {args}", TimeSpan.FromSeconds(15), stdin: ""); }
            catch (TimeoutException) { }
        });

    /// <summary>Reads whole TLS records until the handshake message they carry is complete.</summary>
    private static async Task<byte[]> CaptureAsync(Func<IPEndPoint, Task> client)
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var clientTask = client((IPEndPoint)listener.LocalEndpoint);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        using var s = await listener.AcceptSocketAsync(cts.Token);
        var data = new List<byte>();
        var buf = new byte[4096];
        while (!Complete(data))
        {
            var n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"client closed after {data.Count} bytes");
            data.AddRange(buf.AsSpan(0, n));
        }
        s.Close();
        await clientTask.WaitAsync(TimeSpan.FromSeconds(20));
        return [.. data];
    }

    private static bool Complete(List<byte> data)
    {
        var bytes = data.ToArray();
        var handshake = new List<byte>();
        var pos = 0;
        while (pos + 5 <= bytes.Length)
        {
            var len = BinaryPrimitives.ReadUInt16BigEndian(bytes.AsSpan(pos + 3));
            if (pos + 5 + len > bytes.Length) return false;
            handshake.AddRange(bytes.AsSpan(pos + 5, len));
            pos += 5 + len;
            if (handshake.Count >= 4 && handshake.Count >= 4 + ((handshake[1] << 16) | (handshake[2] << 8) | handshake[3])) return true;
        }
        return false;
    }
}
