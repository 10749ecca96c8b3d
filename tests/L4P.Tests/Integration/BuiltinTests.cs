using System.Net.Sockets;
using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>The built-in upstreams over real sockets: echo, ban, health.</summary>
public sealed class BuiltinTests(ITestOutputHelper output) : IAsyncLifetime
{
    private InProcessProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await InProcessProxy.StartAsync($$"""
        version: 2
        log: debug
        servers:
          echo: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: echo }
          ban: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: ban }
          health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health }
          admin: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin }
          slowhealth: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health, maxclients: 1, timeouts: { http_request: 1s } }
        """, output);

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    [Fact]
    public async Task Echo_reflects_bytes_and_honours_half_close()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("echo"));
        var payload = new byte[500_000];
        new Random(5).NextBytes(payload);
        var reading = Task.Run(() => Net.ReadToEndAsync(c));
        await c.SendAsync(payload);
        c.Shutdown(SocketShutdown.Send);
        Assert.Equal(payload, await reading);
    }

    [Fact]
    public async Task Echoed_bytes_count_both_ways_in_the_log_and_the_metrics()
    {
        using (var c = await Net.ConnectAsync(_proxy.Listen("echo")))
        {
            var payload = new byte[100_000];
            var reading = Task.Run(() => Net.ReadToEndAsync(c));
            await c.SendAsync(payload);
            c.Shutdown(SocketShutdown.Send);
            Assert.Equal(payload.Length, (await reading).Length);
        }
        var line = await _proxy.WaitForLogAsync(l => l.Contains("conn server=echo"));
        Assert.Contains(" up=100000 down=100000 ", line);
        var m = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(_proxy.Listen("admin"), "/metrics")).Body);
        Assert.Equal(100_000, m.Value("l4p_bytes_total", ("server", "echo"), ("direction", "client_to_upstream")));
        Assert.Equal(100_000, m.Value("l4p_bytes_total", ("server", "echo"), ("direction", "upstream_to_client")));
    }

    [Fact]
    public async Task Ban_closes_at_once()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("ban"));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(2)));
        var line = await _proxy.WaitForLogAsync(l => l.Contains("conn server=ban"));
        Assert.Contains("result=banned", line);
    }

    [Fact]
    public async Task Health_answers_two_requests_on_one_keep_alive_connection()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("health"));
        const string expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nOK";
        await c.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Equal(expected, Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, expected.Length)));
        // Second request split across two segments.
        await c.SendAsync(Encoding.ASCII.GetBytes("GET /health HT"));
        await Task.Delay(50);
        await c.SendAsync(Encoding.ASCII.GetBytes("TP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        var second = Encoding.ASCII.GetString(await Net.ReadToEndAsync(c));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", second);
        Assert.Contains("Connection: close\r\n", second);
        Assert.EndsWith("\r\n\r\nOK", second);
    }

    [Theory]
    [InlineData("GET /nope HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 404 Not Found")]
    [InlineData("POST /health HTTP/1.1\r\nConnection: close\r\n\r\n", "HTTP/1.1 405 Method Not Allowed")]
    [InlineData("\u0016\u0003\u0001garbage\r\n\r\n", "HTTP/1.1 400 Bad Request")]
    [InlineData("GET /health SPDY/9\r\n\r\n", "HTTP/1.1 400 Bad Request")]
    public async Task Health_rejects_what_it_does_not_serve(string request, string statusLine)
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("health"));
        await c.SendAsync(Encoding.Latin1.GetBytes(request));
        var reply = Encoding.ASCII.GetString(await Net.ReadToEndAsync(c));
        Assert.StartsWith(statusLine + "\r\n", reply);
    }

    [Fact]
    public async Task Half_a_request_head_gets_408_after_http_request_and_frees_the_slot()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("slowhealth"));
        await c.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n"));
        var reply = Encoding.ASCII.GetString(await Net.ReadToEndAsync(c, TimeSpan.FromSeconds(5)));
        Assert.StartsWith("HTTP/1.1 408 Request Timeout\r\n", reply);
        var line = await _proxy.WaitForLogAsync(l => l.Contains("conn server=slowhealth") && l.Contains("result=http_request_timeout"));
        Assert.Contains("no complete request head within 1s", line);

        // maxclients: 1, and the slot is free again.
        await _proxy.WaitIdleAsync("slowhealth");
        using var next = await Net.ConnectAsync(_proxy.Listen("slowhealth"));
        await next.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"));
        Assert.EndsWith("\r\n\r\nOK", Encoding.ASCII.GetString(await Net.ReadToEndAsync(next)));
    }

    [Fact]
    public async Task A_keep_alive_connection_without_a_next_request_is_closed_after_http_request()
    {
        using var c = await Net.ConnectAsync(_proxy.Listen("slowhealth"));
        const string expected = "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 2\r\n\r\nOK";
        await c.SendAsync(Encoding.ASCII.GetBytes("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
        Assert.Equal(expected, Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, expected.Length)));
        Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(5)));
        await _proxy.WaitForLogAsync(l => l.Contains("conn server=slowhealth") && l.Contains("result=http_keep_alive_timeout"));
    }

    [Fact]
    public async Task Curl_gets_OK_from_health()
    {
        var ep = _proxy.Listen("health");
        var (code, stdout, _) = await Tools.RunAsync("curl", $"-sS --max-time 5 http://{ep}/health");
        Assert.Equal(0, code);
        Assert.Equal("OK", stdout);
    }
}
