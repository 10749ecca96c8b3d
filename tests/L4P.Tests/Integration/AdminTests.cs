using System.Net;
using System.Net.Sockets;
using System.Text;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// health and admin over real sockets: health reveals nothing but OK; admin answers loopback by default,
/// others only through allow (from a trusted PROXY header's source too), never what deny names, and with
/// admin_token only to the right Bearer token; each refusal a bare 403, counted.
/// </summary>
public sealed class AdminTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Token = "t0ken-for-tests_9";
    private InProcessProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await InProcessProxy.StartAsync($$"""
        version: 2
        servers:
          health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health }
          admin: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin }
          admin_tok: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin, admin_token: "${ADMIN_TOKEN}" }
          admin_deny: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin, deny: [127.0.0.2] }
          lb_admin: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin, accept_proxy: true, accept_proxy_from: [127.0.0.1] }
          lb_allow: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin, accept_proxy: true, accept_proxy_from: [127.0.0.1], allow: [10.1.0.0/16] }
          lb_health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health, accept_proxy: true, accept_proxy_from: [127.0.0.1] }
          echo_deny: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: echo, deny: [127.0.0.2] }
        """, output, env: n => n == "ADMIN_TOKEN" ? Token : null);

    public async Task DisposeAsync() => await _proxy.DisposeAsync();

    /// <summary>One request on its own connection (from <paramref name="from"/>, after <paramref name="proxyHeader"/>); the whole reply.</summary>
    private async Task<string> RequestAsync(string server, string path, string? authorization = null, string? proxyHeader = null, IPAddress? from = null)
    {
        var ep = _proxy.Listen(server);
        using var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        if (from is not null) s.Bind(new IPEndPoint(from, 0));
        await s.ConnectAsync(ep).WaitAsync(Net.Timeout);
        var auth = authorization is null ? "" : $"Authorization: {authorization}\r\n";
        await s.SendAsync(Encoding.ASCII.GetBytes($"{proxyHeader}GET {path} HTTP/1.1\r\nHost: l4p\r\n{auth}Connection: close\r\n\r\n"));
        return Encoding.UTF8.GetString(await Net.ReadToEndAsync(s));
    }

    private static string StatusLine(string reply) => reply[..reply.IndexOf("\r\n", StringComparison.Ordinal)];

    private async Task<double> RefusedAsync(string server, string reason) =>
        (await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(_proxy.Listen("admin"), "/metrics")).Body))
        .Value("l4p_admin_refused_total", ("server", server), ("reason", reason));

    private const string Forbidden = "HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n";

    public static TheoryData<string, string> Pages => new()
    {
        { "/status", "Content-Type: text/html; charset=utf-8" },
        { "/status/", "Content-Type: text/html; charset=utf-8" },
        { "/status.json", "Content-Type: application/json; charset=utf-8" },
        { "/metrics", "Content-Type: text/plain; version=0.0.4; charset=utf-8" },
        { "/cluster", "Content-Type: application/json; charset=utf-8" },
    };

    [Theory]
    [MemberData(nameof(Pages))]
    public async Task Health_hides_each_page_that_admin_serves_on_loopback(string path, string contentType)
    {
        var hidden = await RequestAsync("health", path);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", hidden);
        Assert.EndsWith("\r\n\r\nnot found\n", hidden);

        var served = await RequestAsync("admin", path);
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(served));
        Assert.Contains(contentType + "\r\n", served);
        Assert.Contains("Cache-Control: no-store\r\n", served);
    }

    [Theory]
    [InlineData("health")]
    [InlineData("admin")]
    public async Task Both_answer_health_with_OK(string server)
    {
        var reply = await RequestAsync(server, "/health");
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(reply));
        Assert.EndsWith("\r\n\r\nOK", reply);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync(server, "/nope"));
    }

    [Fact]
    public async Task A_page_holds_what_health_must_not_reveal()
    {
        // What health used to give anyone: the status page names servers and their ports.
        var json = await RequestAsync("admin", "/status.json");
        Assert.Contains("\"name\": \"lb_allow\"", json);
        Assert.DoesNotContain("lb_allow", await RequestAsync("health", "/status.json"));
    }

    [Fact]
    public async Task Without_allow_a_non_loopback_client_behind_a_trusted_balancer_gets_403_and_is_counted()
    {
        var before = await RefusedAsync("lb_admin", "forbidden_source");
        Assert.Equal(Forbidden, await RequestAsync("lb_admin", "/metrics", proxyHeader: "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n"));
        Assert.Equal(Forbidden, await RequestAsync("lb_admin", "/health", proxyHeader: "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n"));
        // The balancer forwarding a loopback client (and its own LOCAL checks) are still this host.
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(await RequestAsync("lb_admin", "/status.json", proxyHeader: "PROXY TCP4 127.0.0.5 127.0.0.1 5555 80\r\n")));
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(await RequestAsync("lb_admin", "/status.json", proxyHeader: "PROXY TCP6 ::1 ::1 5555 80\r\n")));
        Assert.Equal(before + 2, await RefusedAsync("lb_admin", "forbidden_source"));
    }

    [Fact]
    public async Task Allow_opens_admin_to_the_source_a_trusted_PROXY_header_names_and_only_to_it()
    {
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(await RequestAsync("lb_allow", "/metrics", proxyHeader: "PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\n")));
        Assert.Equal(Forbidden, await RequestAsync("lb_allow", "/metrics", proxyHeader: "PROXY TCP4 10.2.0.1 127.0.0.1 5555 80\r\n"));
        // allow replaces the loopback default: loopback is not in it.
        Assert.Equal(Forbidden, await RequestAsync("lb_allow", "/metrics", proxyHeader: "PROXY TCP4 127.0.0.1 127.0.0.1 5555 80\r\n"));
        Assert.Equal(2, await RefusedAsync("lb_allow", "forbidden_source"));
    }

    [Fact]
    public async Task An_untrusted_sender_cannot_claim_an_allowed_source()
    {
        // 127.0.0.2 is not in accept_proxy_from: closed before its header is read, nothing answered.
        var reply = await RequestAsync("lb_allow", "/metrics", proxyHeader: "PROXY TCP4 10.1.2.3 127.0.0.1 5555 80\r\n", from: IPAddress.Parse("127.0.0.2"));
        Assert.Equal("", reply);
        Assert.Contains("result=proxy_protocol_untrusted", await _proxy.WaitForLogAsync(l => l.Contains("conn server=lb_allow") && l.Contains("client=127.0.0.2:")));
    }

    [Fact]
    public async Task Health_alone_stays_open_to_anyone_behind_the_balancer()
    {
        var header = "PROXY TCP4 203.0.113.9 127.0.0.1 5555 80\r\n";
        Assert.EndsWith("\r\n\r\nOK", await RequestAsync("lb_health", "/health", proxyHeader: header));
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", await RequestAsync("lb_health", "/metrics", proxyHeader: header));
    }

    [Fact]
    public async Task Deny_refuses_a_loopback_peer_it_names()
    {
        var before = await RefusedAsync("admin_deny", "forbidden_source");
        Assert.Equal(Forbidden, await RequestAsync("admin_deny", "/metrics", from: IPAddress.Parse("127.0.0.2")));
        Assert.Equal("HTTP/1.1 200 OK", StatusLine(await RequestAsync("admin_deny", "/metrics", from: IPAddress.Loopback)));
        Assert.Equal(before + 1, await RefusedAsync("admin_deny", "forbidden_source"));
    }

    [Fact]
    public async Task The_token_missing_or_wrong_gets_403_and_right_gets_the_page()
    {
        Assert.Equal(Forbidden, await RequestAsync("admin_tok", "/metrics"));
        Assert.Equal(Forbidden, await RequestAsync("admin_tok", "/metrics", authorization: "Bearer wrong"));
        Assert.Equal(Forbidden, await RequestAsync("admin_tok", "/health", authorization: "Basic " + Token));
        Assert.Equal(Forbidden, await RequestAsync("admin_tok", "/health", authorization: $"Bearer {Token}x"));
        foreach (var (path, _) in Pages.Select(p => ((string)p[0], (string)p[1])))
            Assert.Equal("HTTP/1.1 200 OK", StatusLine(await RequestAsync("admin_tok", path, authorization: $"Bearer {Token}")));
        Assert.Equal(4, await RefusedAsync("admin_tok", "bad_token"));
        Assert.Equal(0, await RefusedAsync("admin_tok", "forbidden_source"));
        // The token is nowhere in the logs (requests are not logged; the config's secret is not printed).
        Assert.DoesNotContain(_proxy.Logs.Lines, l => l.Contains(Token, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Curl_with_the_token_gets_the_metrics()
    {
        var (code, stdout, _) = await Tools.RunAsync("curl", $"-sS --max-time 5 -H \"Authorization: Bearer {Token}\" http://{_proxy.Listen("admin_tok")}/metrics");
        Assert.Equal(0, code);
        Assert.Contains("l4p_admin_refused_total", stdout);
        var (_, refused, _) = await Tools.RunAsync("curl", $"-sS --max-time 5 -o /dev/null -w %{{http_code}} http://{_proxy.Listen("admin_tok")}/metrics");
        Assert.Equal("403", refused);
    }

    [Fact]
    public async Task Deny_on_any_other_server_closes_the_client_before_anything_with_result_denied()
    {
        using (var c = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            c.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
            await c.ConnectAsync(_proxy.Listen("echo_deny"));
            await c.SendAsync("hello"u8.ToArray());
            Assert.Empty(await Net.ReadToEndAsync(c));
        }
        var line = await _proxy.WaitForLogAsync(l => l.Contains("conn server=echo_deny"));
        Assert.Contains("result=denied reason=\"deny: 127.0.0.2 is in 127.0.0.2/32\"", line);
        Assert.Contains(" up=0 down=0 ", line);

        using var ok = await Net.ConnectAsync(_proxy.Listen("echo_deny"));
        await ok.SendAsync("hi"u8.ToArray());
        Assert.Equal("hi"u8.ToArray(), await Net.ReadExactlyAsync(ok, 2));
    }
}
