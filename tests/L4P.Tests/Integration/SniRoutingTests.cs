using System.Net.Sockets;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>TLS clients through L4P's SNI routing to real TLS servers; L4P never terminates TLS.</summary>
public sealed class SniRoutingTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TlsBackend _a = new("a-backend");
    private readonly TlsBackend _b = new("b-backend");
    private readonly TlsBackend _wild = new("wild-backend");
    private readonly TlsBackend _fallback = new("default-backend");
    private InProcessProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await InProcessProxy.StartAsync($$"""
        version: 1
        log: debug
        servers:
          tls:
            listen: ["127.0.0.1:{{TestPorts.Free()}}"]
            tls: true
            timeouts: { client_hello: 1s }
            sni:
              a.test: a
              B.Test.: b
              "*.wild.test": wild
              exact.wild.test: a
            default: fallback
        upstream:
          a: "tcp://127.0.0.1:{{_a.Endpoint.Port}}"
          b: "tcp://127.0.0.1:{{_b.Endpoint.Port}}"
          wild: "tcp://127.0.0.1:{{_wild.Endpoint.Port}}"
          fallback: "tcp://127.0.0.1:{{_fallback.Endpoint.Port}}"
        """, output);

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        foreach (var b in new[] { _a, _b, _wild, _fallback }) await b.DisposeAsync();
    }

    [Theory]
    [InlineData("a.test", "backend=a-backend sni=a.test")]
    [InlineData("b.test", "backend=b-backend sni=b.test")]
    [InlineData("A.TEST", "backend=a-backend sni=A.TEST")]
    [InlineData("x.wild.test", "backend=wild-backend sni=x.wild.test")]
    [InlineData("deep.x.wild.test", "backend=wild-backend sni=deep.x.wild.test")]
    [InlineData("exact.wild.test", "backend=a-backend sni=exact.wild.test")]
    [InlineData("wild.test", "backend=default-backend sni=wild.test")]
    [InlineData("other.test", "backend=default-backend sni=other.test")]
    public async Task SslStream_handshake_completes_end_to_end_on_the_chosen_backend(string sni, string expected)
    {
        Assert.Equal(expected, await TlsBackend.GetAsync(_proxy.Listen("tls"), sni));
        var line = await _proxy.WaitForLogAsync(l => l.Contains($"sni={sni.ToLowerInvariant()}"));
        Assert.Contains("result=ok", line);
    }

    [Fact]
    public async Task Curl_with_resolve_reaches_the_sni_backend()
    {
        var port = _proxy.Listen("tls").Port;
        var (code, stdout, stderr) = await Tools.RunAsync("curl", $"-sS -k --max-time 10 --resolve b.test:{port}:127.0.0.1 https://b.test:{port}/");
        Assert.True(code == 0, stderr);
        Assert.Equal("backend=b-backend sni=b.test", stdout);
    }

    [Fact]
    public async Task Openssl_s_client_reaches_the_sni_backend()
    {
        var (_, stdout, _) = await Tools.RunAsync("openssl",
            $"s_client -quiet -connect {_proxy.Listen("tls")} -servername a.test",
            stdin: "GET / HTTP/1.1\r\nHost: a.test\r\n\r\n");
        Assert.Contains("backend=a-backend sni=a.test", stdout);
    }

    [Fact]
    public async Task No_sni_goes_to_default()
    {
        var (_, stdout, _) = await Tools.RunAsync("openssl",
            $"s_client -quiet -connect {_proxy.Listen("tls")} -noservername",
            stdin: "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        Assert.Contains("backend=default-backend sni=-", stdout);
    }

    [Fact]
    public async Task Silent_and_half_hello_clients_are_dropped_after_client_hello_timeout_while_others_are_served()
    {
        using var silent = await Net.ConnectAsync(_proxy.Listen("tls"));
        using var half = await Net.ConnectAsync(_proxy.Listen("tls"));
        var hello = await HelloCapture.FromSslStreamAsync("a.test");
        await half.SendAsync(hello.AsMemory(0, hello.Length / 2));

        // Meanwhile a normal client is served at once.
        Assert.Equal("backend=b-backend sni=b.test", await TlsBackend.GetAsync(_proxy.Listen("tls"), "b.test"));

        Assert.True(await Net.IsClosedByPeerAsync(silent, TimeSpan.FromSeconds(3)));
        Assert.True(await Net.IsClosedByPeerAsync(half, TimeSpan.FromSeconds(3)));
        await _proxy.WaitForLogAsync(l => l.Contains("result=client_hello_timeout reason=\"nothing received in 1s"));
        await _proxy.WaitForLogAsync(l => l.Contains("result=client_hello_timeout reason=\"incomplete ClientHello"));
    }

    [Fact]
    public async Task Plain_text_on_a_tls_server_goes_to_default_with_its_bytes()
    {
        // Not TLS at all: routed to default, first bytes replayed. The TLS backend then fails its
        // handshake and closes, which is what a real backend would do too.
        using var c = await Net.ConnectAsync(_proxy.Listen("tls"));
        await c.SendAsync("GET / HTTP/1.1\r\n\r\n"u8.ToArray());
        c.Shutdown(SocketShutdown.Send);
        await Net.ReadToEndAsync(c);
        var line = await _proxy.WaitForLogAsync(l => l.Contains("conn server=tls") && l.Contains("route=default") && l.Contains("up=18"));
        Assert.Contains("upstream=fallback", line);
    }

    [Fact]
    public async Task Garbage_record_is_dropped_as_malformed()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("tls"));
        await c.SendAsync(new byte[] { 0x16, 0x03, 0x01, 0x00, 0x05, 0x02, 0, 0, 1, 0 });
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(3)));
        await _proxy.WaitForLogAsync(l => l.Contains("result=client_hello_malformed reason=\"malformed ClientHello: handshake type 2"));
    }
}

/// <summary>An IP literal as SNI (RFC 6066 forbids it) takes the default route, even where a rule spells that address.</summary>
public sealed class IpLiteralSniTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    [InlineData("2001:db8::1")]
    public async Task An_ip_literal_sni_is_routed_as_no_sni(string literal)
    {
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              tls:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                tls: true
                sni:
                  127.0.0.1: ban
                  "*.0.0.1": ban
                default: echo
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("tls"));
        var hello = HelloBuilder.Hello(literal);
        await c.SendAsync(hello);
        // The default (echo) answers: no rule was consulted.
        Assert.Equal(hello, await Net.ReadExactlyAsync(c, hello.Length));
        c.Shutdown(SocketShutdown.Send);
        await Net.ReadToEndAsync(c);
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"));
        Assert.Contains($"sni={literal} route=default upstream=echo", line);
        Assert.Contains("result=ok", line);
    }
}
