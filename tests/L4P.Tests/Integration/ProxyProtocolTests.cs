using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>PROXY protocol against real consumers and producers: nginx reads what L4P sends, L4P reads what HAProxy sends.</summary>
public sealed class ProxyProtocolInteropTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData("v1")]
    [InlineData("v2")]
    public async Task Nginx_sees_the_real_client_address_from_send_proxy(string version)
    {
        var nginxPort = TestPorts.Free();
        using var nginx = ExternalServer.Nginx($$"""
            server {
              listen 127.0.0.1:{{nginxPort}} proxy_protocol;
              location / { return 200 "$proxy_protocol_addr:$proxy_protocol_port"; }
            }
            """, nginxPort);
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: site }
            upstream:
              site: { target: "tcp://127.0.0.1:{{nginxPort}}", send_proxy: {{version}} }
            """, output);
        var (code, stdout, stderr) = await Tools.RunAsync("curl", $"-sS --max-time 10 -w \"\\n%{{local_port}}\" http://{proxy.Listen("web")}/");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n');
        Assert.Equal($"127.0.0.1:{lines[1]}", lines[0]); // nginx saw curl's own address and port, not L4P's
    }

    [Fact]
    public async Task Accept_proxy_takes_the_client_address_from_haproxy_send_proxy_v2()
    {
        var l4pPort = TestPorts.Free();
        var haproxyPort = TestPorts.Free();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              behind_lb: { listen: ["127.0.0.1:{{l4pPort}}"], accept_proxy: true, default: health }
            """, output);
        using var haproxy = ExternalServer.Haproxy($$"""
            defaults
              mode tcp
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend f
              bind 127.0.0.1:{{haproxyPort}}
              default_backend b
            backend b
              server l4p 127.0.0.1:{{l4pPort}} send-proxy-v2
            """, haproxyPort);
        var (code, stdout, stderr) = await Tools.RunAsync("curl", $"-sS --max-time 10 -w \"\\n%{{local_port}}\" http://127.0.0.1:{haproxyPort}/health");
        Assert.True(code == 0, stderr);
        var lines = stdout.Split('\n');
        Assert.Equal("OK", lines[0]);
        // The client L4P logs is curl (its own port), not HAProxy's outgoing connection.
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=behind_lb") && l.Contains($"client=127.0.0.1:{lines[1]} "));
        Assert.Contains("down=", line);
    }

    [Theory]
    [InlineData("GET /health HTTP/1.1\r\n\r\n", "no PROXY protocol header")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\nGET /health HTTP/1.1\r\n\r\n", "v1 header is not PROXY TCP4|TCP6")]
    [InlineData("PROXY TCP4 1.2.3.4", "no complete PROXY header in 1s")]
    public async Task Accept_proxy_refuses_garbage_and_truncated_headers(string sent, string reason)
    {
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              behind_lb: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], accept_proxy: true, default: echo, timeouts: { client_hello: 1s } }
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("behind_lb"));
        await c.SendAsync(Encoding.ASCII.GetBytes(sent));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(3)));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=behind_lb"));
        Assert.Contains("result=proxy_protocol_invalid", line);
        Assert.Contains(reason, line);
    }

    [Fact]
    public async Task A_hostile_proxy_header_is_escaped_in_the_log()
    {
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              behind_lb: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], accept_proxy: true, default: echo }
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("behind_lb"));
        await c.SendAsync("PROXY TCP4 1.2.3.4\" result=ok \u001b[2J 5.6.7.8 1 2\r\n"u8.ToArray());
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(3)));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=behind_lb"));
        Assert.EndsWith(@"result=proxy_protocol_invalid reason=""accept_proxy: v1 header is not PROXY TCP4|TCP6 src dst sport dport: PROXY TCP4 1.2.3.4\x22 result=ok \x1b[2J 5.6.7.8 1 2""", line);
        Assert.DoesNotContain(line, ch => ch < ' ' || ch > '~');
        var reason = line.IndexOf("reason=\"", StringComparison.Ordinal) + "reason=\"".Length;
        Assert.Equal(line.Length - 1, line.IndexOf('"', reason));
    }

    [Fact]
    public async Task Accept_proxy_v1_then_sni_routing_on_the_bytes_after_the_header()
    {
        await using var backend = new TlsBackend("behind");
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              tls:
                listen: ["127.0.0.1:{{TestPorts.Free()}}"]
                accept_proxy: true
                tls: true
                sni: { a.test: b }
                default: ban
            upstream:
              b: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """, output);
        // The header and the ClientHello in one segment, as a balancer usually sends them.
        using var c = await Net.ConnectAsync(proxy.Listen("tls"));
        var hello = await HelloCapture.FromSslStreamAsync("a.test");
        byte[] first = [.. "PROXY TCP4 203.0.113.9 127.0.0.1 4242 443\r\n"u8, .. hello];
        await c.SendAsync(first);
        // The TLS server answers the ClientHello it got through L4P (a ServerHello record), then we leave.
        Assert.Equal(0x16, (await Net.ReadExactlyAsync(c, 1))[0]);
        c.Close();
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=tls"), TimeSpan.FromSeconds(15));
        Assert.Contains("client=203.0.113.9:4242", line);
        Assert.Contains("sni=a.test", line);
        Assert.Contains($"up={hello.Length}", line); // the header itself is not relayed
    }

    [Theory]
    [InlineData("[10.0.0.0/8, \"2001:db8::/32\"]", false)]
    [InlineData("[10.0.0.0/8, 127.0.0.0/8]", true)]
    [InlineData("[127.0.0.1]", true)]
    public async Task Accept_proxy_from_lets_only_trusted_senders_claim_a_client_address(string from, bool trusted)
    {
        var backendGot = new TaskCompletionSource<int>();
        await using var backend = new TcpBackend(async s => backendGot.TrySetResult((await Net.ReadToEndAsync(s)).Length));
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              lb: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], accept_proxy: true, accept_proxy_from: {{from}}, default: b }
            upstream:
              b: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """, output);
        using var c = await Net.ConnectAsync(proxy.Listen("lb"));
        await c.SendAsync("PROXY TCP4 203.0.113.9 127.0.0.1 4242 443\r\nhello"u8.ToArray());
        c.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=lb"));
        if (trusted)
        {
            Assert.Contains("client=203.0.113.9:4242", line);
            Assert.Contains("result=ok", line);
            Assert.Equal(5, await backendGot.Task.WaitAsync(TimeSpan.FromSeconds(5)));
        }
        else
        {
            // Closed before anything was read: no byte went upstream, and the log names the real sender.
            Assert.Contains("result=proxy_protocol_untrusted", line);
            Assert.Matches(@"client=127\.0\.0\.1:\d+ ", line);
            Assert.Equal(0, backend.Accepted);
        }
    }
}
