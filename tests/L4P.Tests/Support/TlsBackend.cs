using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace L4P.Tests.Support;

/// <summary>
/// A real TLS server (SslStream, self-signed certificate) on loopback. Answers one HTTP request per
/// connection with <c>backend=NAME sni=SNI</c>, so a test sees which backend it reached and what SNI
/// arrived there.
/// </summary>
public sealed class TlsBackend : IAsyncDisposable
{
    private readonly TcpBackend _tcp;
    private readonly X509Certificate2 _cert;

    public string Name { get; }
    public IPEndPoint Endpoint => _tcp.Endpoint;
    public List<string> SeenSni { get; } = [];

    public TlsBackend(string name)
    {
        Name = name;
        _cert = SelfSigned(name);
        _tcp = new TcpBackend(ServeAsync);
    }

    public static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var req = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        san.AddDnsName("*.test");
        san.AddDnsName("*.wild.test");
        req.CertificateExtensions.Add(san.Build());
        using var cert = req.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(30));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    private async Task ServeAsync(Socket socket)
    {
        using var stream = new NetworkStream(socket, ownsSocket: false);
        using var ssl = new SslStream(stream);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _cert }, cts.Token);
        var sni = string.IsNullOrEmpty(ssl.TargetHostName) ? "-" : ssl.TargetHostName;
        lock (SeenSni) SeenSni.Add(sni);
        var head = new StringBuilder();
        var buf = new byte[4096];
        while (!head.ToString().Contains("\r\n\r\n"))
        {
            var n = await ssl.ReadAsync(buf, cts.Token);
            if (n == 0) return;
            head.Append(Encoding.ASCII.GetString(buf, 0, n));
        }
        var body = $"backend={Name} sni={sni}";
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"), cts.Token);
        await ssl.ShutdownAsync();
    }

    /// <summary>An SslStream client through <paramref name="via"/> with SNI <paramref name="sni"/>; returns the response body.</summary>
    public static async Task<string> GetAsync(IPEndPoint via, string sni)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(via);
        using var ssl = new SslStream(tcp.GetStream(), false, (_, _, _, _) => true);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = sni }, cts.Token);
        await ssl.WriteAsync(Encoding.ASCII.GetBytes($"GET / HTTP/1.1\r\nHost: {sni}\r\n\r\n"), cts.Token);
        var ms = new MemoryStream();
        await ssl.CopyToAsync(ms, cts.Token);
        var text = Encoding.ASCII.GetString(ms.ToArray());
        return text[(text.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
    }

    public async ValueTask DisposeAsync()
    {
        await _tcp.DisposeAsync();
        _cert.Dispose();
    }
}
