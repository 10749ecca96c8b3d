using System.Net.Sockets;
using System.Text;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// `via`: L4P tunnels through an upstream HTTP proxy with CONNECT. The real peer is tinyproxy;
/// scripted fake proxies cover what tinyproxy never does.
/// </summary>
public sealed class ConnectViaTests(ITestOutputHelper output)
{
    private static string TlsServerConfig(int listen, int proxyPort, string via, string extra = "") => $"""
        version: 1
        log: debug
        servers:
          tls:
            listen: ["127.0.0.1:{listen}"]
            tls: true
            default: corp
            via:
        {via}
        {extra}
        upstream:
          corp: "tcp://127.0.0.1:{proxyPort}"
        """;

    [Fact]
    public async Task Tinyproxy_with_right_credentials_from_env_carries_the_tls_handshake()
    {
        await using var backend = new TlsBackend("secure");
        using var tinyproxy = new TinyProxy(connectPort: backend.Endpoint.Port);
        var config = TlsServerConfig(TestPorts.Free(), tinyproxy.Endpoint.Port, $"""
                  target: "127.0.0.1:{backend.Endpoint.Port}"
                  headers:
                    Proxy-Authorization: "Basic ${"{"}ENCODED_PW{"}"}"
            """);
        var env = new Dictionary<string, string> { ["ENCODED_PW"] = Convert.ToBase64String("user:pass"u8) };
        await using var proxy = await InProcessProxy.StartAsync(config, output, env: n => env.GetValueOrDefault(n));

        Assert.Equal("backend=secure sni=a.test", await TlsBackend.GetAsync(proxy.Listen("tls"), "a.test"));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"));
        Assert.Contains($"via=127.0.0.1:{backend.Endpoint.Port}", line);
        Assert.Contains("result=ok", line);
        Assert.DoesNotContain(env["ENCODED_PW"], string.Join("\n", proxy.Logs.Lines));
    }

    [Theory]
    [InlineData(null, "407 Proxy Authentication Required (proxy authentication required)")]
    [InlineData("user:wrong", "401 Unauthorized (proxy rejected the credentials)")]
    public async Task Tinyproxy_without_or_with_wrong_credentials_closes_the_client(string? credentials, string expected)
    {
        await using var backend = new TlsBackend("secure");
        using var tinyproxy = new TinyProxy(connectPort: backend.Endpoint.Port);
        var headers = credentials is null ? "" : $"""
                  headers: {"{"} Proxy-Authorization: "Basic {Convert.ToBase64String(Encoding.ASCII.GetBytes(credentials))}" {"}"}
            """;
        await using var proxy = await InProcessProxy.StartAsync(TlsServerConfig(TestPorts.Free(), tinyproxy.Endpoint.Port, $"""
                  target: "127.0.0.1:{backend.Endpoint.Port}"
            {headers}
            """), output);

        await Assert.ThrowsAnyAsync<IOException>(() => TlsBackend.GetAsync(proxy.Listen("tls"), "a.test"));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"));
        Assert.Contains($"reason=\"proxy refused CONNECT 127.0.0.1:{backend.Endpoint.Port}: HTTP/1.", line);
        Assert.Contains("result=proxy_status_4", line);
        Assert.Contains(expected, line);
        Assert.Contains("sni=a.test", line);
    }

    [Fact]
    public async Task Tinyproxy_refusing_the_port_gives_403_and_closes_the_client()
    {
        await using var backend = new TlsBackend("secure");
        using var tinyproxy = new TinyProxy(connectPort: 443);
        await using var proxy = await InProcessProxy.StartAsync(TlsServerConfig(TestPorts.Free(), tinyproxy.Endpoint.Port, $"""
                  target: "127.0.0.1:{backend.Endpoint.Port}"
                  headers: {"{"} Proxy-Authorization: "Basic dXNlcjpwYXNz" {"}"}
            """), output);

        await Assert.ThrowsAnyAsync<IOException>(() => TlsBackend.GetAsync(proxy.Listen("tls"), "a.test"));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"));
        Assert.Contains("HTTP/1.1 403 Access violation", line);
    }

    [Fact]
    public async Task Use_sni_as_target_connects_to_the_client_sni_through_tinyproxy()
    {
        await using var backend = new TlsBackend("by-sni");
        using var tinyproxy = new TinyProxy(connectPort: backend.Endpoint.Port);
        await using var proxy = await InProcessProxy.StartAsync(TlsServerConfig(TestPorts.Free(), tinyproxy.Endpoint.Port, $"""
                  use_sni_as_target: true
                  target_port: {backend.Endpoint.Port}
                  headers: {"{"} Proxy-Authorization: "Basic dXNlcjpwYXNz" {"}"}
            """), output);

        // tinyproxy resolves "localhost" itself: the CONNECT target really is the SNI.
        Assert.Equal("backend=by-sni sni=localhost", await TlsBackend.GetAsync(proxy.Listen("tls"), "localhost"));
        Assert.Contains($"via=localhost:{backend.Endpoint.Port}", await proxy.WaitForLogAsync(l => l.Contains("conn server=tls")));
    }

    /// <summary>A fake proxy that records the CONNECT request and runs a script.</summary>
    private static TcpBackend FakeProxy(Func<Socket, Task> script, TaskCompletionSource<string>? request = null) => new(async s =>
    {
        var head = new StringBuilder();
        var b = new byte[1];
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await s.ReceiveAsync(b) == 0) return;
            head.Append((char)b[0]);
        }
        request?.TrySetResult(head.ToString());
        await script(s);
    });

    /// <summary>After the reply, behave as the tunnel to an echo server.</summary>
    private static async Task EchoTunnel(Socket s)
    {
        var buf = new byte[65536];
        int n;
        while ((n = await s.ReceiveAsync(buf)) > 0) await s.SendAsync(buf.AsMemory(0, n));
        s.Shutdown(SocketShutdown.Send);
    }

    private async Task<(InProcessProxy Proxy, TcpBackend Fake)> PlainViaAsync(Func<Socket, Task> script, string timeout = "2s",
        TaskCompletionSource<string>? request = null)
    {
        var fake = FakeProxy(script, request);
        var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              p:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: corp
                via: { target: "inside.test:8443", connect_timeout: {{timeout}}, headers: { X-Who: l4p } }
            upstream:
              corp: "tcp://127.0.0.1:{{fake.Endpoint.Port}}"
            """, output);
        return (proxy, fake);
    }

    [Fact]
    public async Task Reply_split_byte_by_byte_then_the_tunnel_works_and_the_request_is_right()
    {
        var request = new TaskCompletionSource<string>();
        var (proxy, fake) = await PlainViaAsync(async s =>
        {
            foreach (var c in "HTTP/1.1 200 Connection established\r\nProxy-Agent: fake\r\n\r\n")
            {
                await s.SendAsync(new[] { (byte)c });
                await Task.Delay(2);
            }
            await EchoTunnel(s);
        }, request: request);
        await using (proxy)
        await using (fake)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("p"));
            await c.SendAsync("ping"u8.ToArray());
            Assert.Equal("ping", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 4)));
            Assert.Equal("CONNECT inside.test:8443 HTTP/1.1\r\nHost: inside.test:8443\r\nX-Who: l4p\r\n\r\n", await request.Task);
        }
    }

    [Fact]
    public async Task A_via_target_without_a_port_sends_CONNECT_to_port_443()
    {
        var request = new TaskCompletionSource<string>();
        await using var fake = FakeProxy(async s =>
        {
            await s.SendAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray());
            await EchoTunnel(s);
        }, request);
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              p:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: corp
                via: { target: www.test1.com, headers: { Host: www.test1.com } }
            upstream:
              corp: "tcp://127.0.0.1:{{fake.Endpoint.Port}}"
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("p"));
        await c.SendAsync("ping"u8.ToArray());
        Assert.Equal("ping", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 4)));
        Assert.Equal("CONNECT www.test1.com:443 HTTP/1.1\r\nHost: www.test1.com\r\n\r\n", await request.Task);
        c.Shutdown(SocketShutdown.Send);
        await Net.ReadToEndAsync(c);
        Assert.Contains("via=www.test1.com:443", await proxy.WaitForLogAsync(l => l.Contains("conn server=p")));
    }

    [Fact]
    public async Task Tunnel_bytes_in_the_same_segment_as_the_reply_reach_the_client_first()
    {
        var (proxy, fake) = await PlainViaAsync(async s =>
        {
            await s.SendAsync("HTTP/1.1 200 OK\r\n\r\nbanner:"u8.ToArray());
            await EchoTunnel(s);
        });
        await using (proxy)
        await using (fake)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("p"));
            Assert.Equal("banner:", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 7)));
            await c.SendAsync("x"u8.ToArray());
            Assert.Equal("x", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 1)));
        }
    }

    [Fact]
    public async Task Over_8KiB_of_reply_headers_is_fine()
    {
        var (proxy, fake) = await PlainViaAsync(async s =>
        {
            var headers = string.Concat(Enumerable.Range(0, 300).Select(i => $"X-H{i}: {new string('v', 40)}\r\n"));
            await s.SendAsync(Encoding.ASCII.GetBytes("HTTP/1.1 200 OK\r\n" + headers + "\r\n"));
            await EchoTunnel(s);
        });
        await using (proxy)
        await using (fake)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("p"));
            await c.SendAsync("ok"u8.ToArray());
            Assert.Equal("ok", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 2)));
        }
    }

    public static TheoryData<string, string> Failures => new()
    {
        { "garbage", "bad CONNECT reply from proxy: not an HTTP reply" },
        { "close", "proxy closed the connection before answering CONNECT inside.test:8443" },
        { "silence", "connect timeout after 1s: no answer to CONNECT inside.test:8443" },
        { "huge", "bad CONNECT reply from proxy: no end of headers in 65536 bytes" },
        { "502", "proxy refused CONNECT inside.test:8443: HTTP/1.1 502 Bad Gateway" },
        { "503", "proxy refused CONNECT inside.test:8443: HTTP/1.1 503 Service Unavailable" },
        { "418", "proxy refused CONNECT inside.test:8443: HTTP/1.1 418 I'm a teapot" },
    };

    [Theory]
    [MemberData(nameof(Failures))]
    public async Task Bad_proxy_behaviour_closes_the_client_cleanly_with_a_clear_log(string behaviour, string expected)
    {
        var (proxy, fake) = await PlainViaAsync(async s =>
        {
            switch (behaviour)
            {
                case "garbage": await s.SendAsync("\0\0\0 not http at all\r\n\r\n"u8.ToArray()); break;
                case "close": break;
                case "silence": await Task.Delay(3000); break;
                case "huge":
                    await s.SendAsync("HTTP/1.1 200 OK\r\n"u8.ToArray());
                    for (var i = 0; i < 100; i++) await s.SendAsync(Encoding.ASCII.GetBytes($"X-{i}: {new string('a', 1000)}\r\n"));
                    break;
                default:
                    var reason = behaviour switch { "502" => "Bad Gateway", "503" => "Service Unavailable", _ => "I'm a teapot" };
                    await s.SendAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 {behaviour} {reason}\r\nContent-Length: 0\r\n\r\n"));
                    await Task.Delay(1000);
                    break;
            }
        }, timeout: "1s");
        await using (proxy)
        await using (fake)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("p"));
            await c.SendAsync("hello"u8.ToArray());
            Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(4)));
            var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=p"));
            Assert.Contains("reason=\"" + expected, line);
        }
    }

    [Fact]
    public async Task A_hostile_status_line_is_escaped_in_the_log()
    {
        // Quotes, ESC (terminal escapes), a CR and a non-ASCII byte in the proxy's status line: the log
        // line keeps one reason field and no control byte.
        var (proxy, fake) = await PlainViaAsync(async s =>
        {
            byte[] reply = [.. "HTTP/1.1 403 Forbidden\" result=ok \u001b[31mred\rX \\"u8, 0xE9, .. "\r\n\r\n"u8];
            await s.SendAsync(reply);
            await Task.Delay(1000);
        });
        await using (proxy)
        await using (fake)
        {
            using var c = await Net.ConnectAsync(proxy.Listen("p"));
            await c.SendAsync("hello"u8.ToArray());
            Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(4)));
            var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=p"));
            Assert.EndsWith(@"result=proxy_status_403 reason=""proxy refused CONNECT inside.test:8443: HTTP/1.1 403 Forbidden\x22 result=ok \x1b[31mred\x0dX \x5c\xe9""", line);
            // The quoted reason ends where the line ends: the proxy's quote did not close it early.
            var reason = line.IndexOf("reason=\"", StringComparison.Ordinal) + "reason=\"".Length;
            Assert.Equal(line.Length - 1, line.IndexOf('"', reason));
            Assert.DoesNotContain(line, ch => ch < ' ' || ch > '~');
        }
    }

    [Fact]
    public async Task Per_sni_via_empty_goes_direct_while_its_neighbour_goes_through_the_proxy()
    {
        await using var direct = new TlsBackend("direct");
        await using var viaBackend = new TlsBackend("via-backend");
        using var tinyproxy = new TinyProxy(connectPort: viaBackend.Endpoint.Port);
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              tls:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                tls: true
                via:
                  target: "127.0.0.1:{{viaBackend.Endpoint.Port}}"
                  headers: { Proxy-Authorization: "Basic dXNlcjpwYXNz" }
                sni:
                  proxied.test: corp
                  intern.test: { upstream: direct, via: {} }
                default: ban
            upstream:
              corp: "tcp://127.0.0.1:{{tinyproxy.Endpoint.Port}}"
              direct: "tcp://127.0.0.1:{{direct.Endpoint.Port}}"
            """, output);

        Assert.Equal("backend=direct sni=intern.test", await TlsBackend.GetAsync(proxy.Listen("tls"), "intern.test"));
        Assert.Equal("backend=via-backend sni=proxied.test", await TlsBackend.GetAsync(proxy.Listen("tls"), "proxied.test"));
        Assert.Contains("via=-", await proxy.WaitForLogAsync(l => l.Contains("sni=intern.test")));
        Assert.Contains($"via=127.0.0.1:{viaBackend.Endpoint.Port}", await proxy.WaitForLogAsync(l => l.Contains("sni=proxied.test")));
    }

    [Fact]
    public async Task Use_sni_as_target_without_sni_closes_with_a_clear_reason()
    {
        var fake = FakeProxy(_ => Task.CompletedTask);
        await using var _ = fake;
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              tls:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                tls: true
                default: corp
                via: { use_sni_as_target: true }
            upstream:
              corp: "tcp://127.0.0.1:{{fake.Endpoint.Port}}"
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("tls"));
        await c.SendAsync(HelloBuilder.Hello(null));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(3)));
        Assert.Contains("result=no_sni reason=\"use_sni_as_target: the client sent no SNI", await proxy.WaitForLogAsync(l => l.Contains("conn server=tls")));
        Assert.Equal(0, fake.Accepted);
    }

    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("::1")]
    public async Task Use_sni_as_target_never_connects_to_an_ip_literal_sni(string literal)
    {
        // RFC 6066 forbids IP literals in SNI; taken as a name, it would make the corporate proxy CONNECT to it.
        var fake = FakeProxy(_ => Task.CompletedTask);
        await using var _ = fake;
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              tls:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                tls: true
                default: corp
                via: { use_sni_as_target: true }
            upstream:
              corp: "tcp://127.0.0.1:{{fake.Endpoint.Port}}"
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("tls"));
        await c.SendAsync(HelloBuilder.Hello(literal));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(3)));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"));
        Assert.Contains($"sni={literal} route=default", line);
        Assert.Contains("via=- ", line);
        Assert.Contains("result=no_sni reason=\"use_sni_as_target: the client sent no SNI (an IP literal counts as none)", line);
        Assert.Equal(0, fake.Accepted);
    }
}

public sealed class TunnelStatsTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Stats_interval_logs_progress_of_a_long_lived_tunnel()
    {
        await using var fake = new TcpBackend(async s =>
        {
            var b = new byte[4096];
            var head = "";
            while (!head.EndsWith("\r\n\r\n", StringComparison.Ordinal)) head += Encoding.ASCII.GetString(b, 0, await s.ReceiveAsync(b.AsMemory(0, 1)));
            await s.SendAsync("HTTP/1.1 200 OK\r\n\r\n"u8.ToArray());
            for (var i = 0; i < 8; i++)
            {
                await s.SendAsync(new byte[100]);
                await Task.Delay(100);
            }
            s.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              p:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                default: corp
                via: { target: "t.test:443", stats_interval: 200ms }
            upstream:
              corp: "tcp://127.0.0.1:{{fake.Endpoint.Port}}"
            """, output);
        var started = DateTime.UtcNow;
        using var c = await Net.ConnectAsync(proxy.Listen("p"));
        c.Shutdown(SocketShutdown.Send);
        Assert.Equal(800, (await Net.ReadToEndAsync(c)).Length);
        await proxy.WaitForLogAsync(l => l.Contains("conn server=p"));
        var open = (DateTime.UtcNow - started).TotalSeconds;
        var ticks = proxy.Logs.Lines.Where(l => l.Contains("tunnel server=p") && l.Contains("via=t.test:443")).ToList();
        // One line per 200 ms the tunnel was open (the stream takes >= 0.8 s, longer on a busy machine).
        Assert.InRange(ticks.Count, 2, (int)(open / 0.2) + 1);
        Assert.Contains(ticks, l => l.Contains("down=") && !l.Contains("down=0 ") && !l.Contains("down=800 "));
    }
}
