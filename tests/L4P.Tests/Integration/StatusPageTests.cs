using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L4P.Metrics;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>/status.json against known traffic, and /status in a real headless Chromium, all served by the admin built-in.</summary>
public sealed class StatusPageTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TcpBackend _backend = TcpBackend.Echo();
    private InProcessProxy _proxy = null!;

    public async Task InitializeAsync() => _proxy = await InProcessProxy.StartAsync($$"""
        version: 1
        servers:
          health: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: health }
          admin: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: admin }
          web:
            listen: ["127.0.0.1:{{TestPorts.Free()}}"]
            maxclients: 50
            tls: true
            sni: { a.test: backend }
            default: backend
          {{NastyServer}}: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: {{NastyUpstream}} }
        upstream:
          backend: "tcp://127.0.0.1:{{_backend.Endpoint.Port}}"
          {{NastyUpstream}}: "tcp://127.0.0.1:{{_backend.Endpoint.Port}}"
        """, output);

    // Names are config text: markup in them must reach the page as text, never as markup.
    private const string NastyServer = """'<b onclick="x()">s&amp;''q</b>'""";
    private const string NastyServerName = """<b onclick="x()">s&amp;'q</b>""";
    private const string NastyUpstream = """'<i>&"up''</i>'""";
    private const string NastyUpstreamName = """<i>&"up'</i>""";

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    private async Task SendThroughAsync(int connections, string? sni)
    {
        for (var i = 0; i < connections; i++)
        {
            using var c = await Net.ConnectAsync(_proxy.Listen("web"));
            var hello = sni is null ? Encoding.ASCII.GetBytes("plain text, not tls") : HelloBuilder.Hello(sni);
            await c.SendAsync(hello);
            c.Shutdown(SocketShutdown.Send);
            Assert.Equal(hello.Length, (await Net.ReadToEndAsync(c)).Length);
        }
        var expected = _proxy.Logs.Lines.Count(l => l.Contains("conn server=web"));
        await _proxy.WaitForLogAsync(_ => _proxy.Logs.Lines.Count(l => l.Contains("conn server=web")) >= expected);
    }

    private async Task<JsonNode> StatusAsync()
    {
        var (head, body) = await Net.HttpGetAsync(_proxy.Listen("admin"), "/status.json");
        Assert.Contains("Content-Type: application/json", head);
        return JsonNode.Parse(body)!;
    }

    [Fact]
    public async Task Status_json_counts_known_traffic()
    {
        await SendThroughAsync(3, "a.test");
        await SendThroughAsync(2, null);
        // Connection lines come after the counters: all 5 are in.
        await _proxy.WaitForLogAsync(_ => _proxy.Logs.Lines.Count(l => l.Contains("conn server=web")) == 5);

        // Active drops when the listener sees the connection actor stop, just after its log line.
        JsonNode s, web;
        for (var tries = 0; ; tries++)
        {
            s = await StatusAsync();
            web = s["servers"]!.AsArray().Single(x => (string?)x!["name"] == "web")!;
            if ((double)web["active"]! == 0 || tries == 100) break;
            await Task.Delay(20);
        }
        Assert.Equal(5, (double)web["total"]!);
        Assert.Equal(0, (double)web["rejected"]!);
        Assert.Equal(0, (double)web["active"]!);
        Assert.Equal(50, (double)web["maxclients"]!);
        Assert.Equal(3, (double)web["routes"]!["a.test"]!);
        Assert.Equal(2, (double)web["routes"]!["default"]!);
        Assert.Equal(5, (double)web["results"]!["ok"]!);
        var hello = HelloBuilder.Hello("a.test").Length;
        Assert.Equal(3 * hello + 2 * 19, (double)web["bytes_in"]!);
        var up = s["upstreams"]!.AsArray().Single(x => (string?)x!["name"] == "backend")!;
        Assert.Equal(5, (double)up["connections"]!);
        Assert.Equal($"127.0.0.1:{_backend.Endpoint.Port}", (string?)up["addresses"]![0]!["address"]);
        Assert.Equal("resolved", (string?)up["addresses"]![0]!["state"]);
        Assert.Equal("roundrobin", (string?)up["balance"]);
        Assert.NotNull(up["connect_ms_p50"]);
        Assert.NotNull(up["connect_ms_p99"]);
        Assert.Equal(1, (int)s["generation"]!);
        Assert.True((double)s["uptime_seconds"]! >= 0);
    }

    [Fact]
    public async Task Status_json_agrees_with_metrics()
    {
        await SendThroughAsync(3, "a.test");
        await SendThroughAsync(2, null);
        var s = await StatusAsync();
        var m = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(_proxy.Listen("admin"), "/metrics")).Body);

        var web = s["servers"]!.AsArray().Single(x => (string?)x!["name"] == "web")!;
        Assert.Equal(5, (double)web["results"]!["ok"]!);
        Assert.Equal(m.Value("l4p_connections_total", ("server", "web"), ("result", "ok")), (double)web["results"]!["ok"]!);
        Assert.Equal(m.Value("l4p_routes_total", ("server", "web"), ("rule", "a.test")), (double)web["routes"]!["a.test"]!);
        Assert.Equal(m.Value("l4p_bytes_total", ("server", "web"), ("direction", "client_to_upstream")), (double)web["bytes_in"]!);
        Assert.Equal(m.Value("l4p_bytes_total", ("server", "web"), ("direction", "upstream_to_client")), (double)web["bytes_out"]!);

        // The report's connect quantiles come from its own buckets: the histogram's give the same.
        var up = s["upstreams"]!.AsArray().Single(x => (string?)x!["name"] == "backend")!;
        var buckets = m.All.Where(x => x.Name == "l4p_upstream_connect_seconds_bucket" && x.Labels["upstream"] == "backend")
            .Select(x => (x.Labels["le"] == "+Inf" ? double.PositiveInfinity : double.Parse(x.Labels["le"], CultureInfo.InvariantCulture), x.Value)).ToList();
        Assert.Equal(5, buckets[^1].Value);
        Assert.Equal(Math.Round(BucketCounts.Quantile(0.5, buckets)!.Value * 1000, 3), (double)up["connect_ms_p50"]!);
        Assert.Equal(Math.Round(BucketCounts.Quantile(0.99, buckets)!.Value * 1000, 3), (double)up["connect_ms_p99"]!);
    }

    [Fact]
    public async Task The_page_without_scripts_already_has_every_table_with_current_numbers()
    {
        await SendThroughAsync(3, "a.test");
        var upstream = $"127.0.0.1:{_backend.Endpoint.Port}";
        string head, html;
        // Active drops when the listener sees the connection actor stop, just after its log line.
        for (var tries = 0; ; tries++)
        {
            (head, html) = await Net.HttpGetAsync(_proxy.Listen("admin"), "/status");
            if (Card(html, "data-server=\"web\"").Contains(" 0/50", StringComparison.Ordinal) || tries == 100) break;
            await Task.Delay(20);
        }
        Assert.Contains("Content-Type: text/html; charset=utf-8", head);
        var web = Card(html, "data-server=\"web\"");
        Assert.Contains("<h3>web <small>tls, default backend</small></h3>", web);
        Assert.Contains("data-field=\"total\" rowspan=\"1\">3</td>", web);
        Assert.Contains("data-field=\"rejected\" rowspan=\"1\">0</td>", web);
        Assert.Contains("routes: a.test=3", web);
        Assert.Contains("results: ok=3", web);
        Assert.Contains("</i></span> 0/50</td>", web); // maxclients use, as a bar and numbers
        Assert.Contains("<h3>health <small>default health</small></h3>", Card(html, "data-server=\"health\""));
        Assert.Contains("<h3>admin <small>default admin</small></h3>", Card(html, "data-server=\"admin\""));
        var backend = Card(html, "data-upstream=\"backend\"");
        Assert.Contains($"<h3>backend <small>tcp://{upstream}</small></h3>", backend);
        Assert.Contains($"<tr><td>{upstream}</td>", backend);
        Assert.Contains("data-field=\"connections\" rowspan=\"1\">3</td>", backend);
        Assert.Matches(@"config generation <b id=""generation"">1</b>", html);
        Assert.DoesNotContain("<!--=", html); // every placeholder filled

        // What an operator's curl sees: the same tables.
        var (code, curled, _) = await Tools.RunAsync("curl", $"-sS --max-time 5 http://{_proxy.Listen("admin")}/status");
        Assert.Equal(0, code);
        Assert.Contains("<h3>web <small>tls, default backend</small></h3>", curled);
        Assert.Contains("data-field=\"total\" rowspan=\"1\">3</td>", Card(curled, "data-server=\"web\""));

        // Markup in config names is text: encoded once, in the attribute and in the heading.
        var encodedServer = System.Net.WebUtility.HtmlEncode(NastyServerName);
        Assert.Contains($"<div class=\"card\" data-server=\"{encodedServer}\"><h3>{encodedServer} <small>", html);
        Assert.Contains($"data-upstream=\"{System.Net.WebUtility.HtmlEncode(NastyUpstreamName)}\"", html);
        Assert.DoesNotContain("<b onclick", html);
        Assert.DoesNotContain("<i>&", html);
    }

    /// <summary>The card that starts at <paramref name="marker"/>, up to its closing div.</summary>
    private static string Card(string html, string marker)
    {
        var start = html.IndexOf(marker, StringComparison.Ordinal);
        Assert.True(start >= 0, $"no {marker} in the page");
        return html[start..html.IndexOf("</div>", start, StringComparison.Ordinal)];
    }

    [Fact]
    public async Task The_page_in_chromium_with_javascript_off_shows_the_tables()
    {
        await SendThroughAsync(2, "a.test");
        await SendThroughAsync(1, null);
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.DisableScriptsAsync();
        await browser.NavigateAsync($"http://{_proxy.Listen("admin")}/status");
        await browser.WaitForAsync("document.readyState === 'complete'", TimeSpan.FromSeconds(10));

        // The page's script never ran (it would have defined refresh() at once): the tables are the server's.
        Assert.Equal("undefined", (string)(await browser.EvalAsync("typeof refresh"))!);
        Assert.Null(await browser.EvalAsync("document.body.dataset.refreshes ?? null"));
        Assert.Equal("web tls, default backend", (string)(await browser.EvalAsync("document.querySelector('[data-server=web] h3').textContent"))!);
        Assert.Equal("3", (string)(await browser.EvalAsync("document.querySelector('[data-server=web] [data-field=total]').textContent"))!);
        Assert.Contains("routes: a.test=2, default=1", (string)(await browser.EvalAsync("document.querySelector('[data-server=web] td.kv').textContent"))!);
        Assert.Equal($"127.0.0.1:{_backend.Endpoint.Port}",
            (string)(await browser.EvalAsync("document.querySelector('[data-upstream=backend] td').textContent"))!);
        Assert.Equal("resolved", (string)(await browser.EvalAsync("document.querySelector('[data-upstream=backend] td.state').textContent"))!);
        Assert.Equal(4, (await browser.EvalAsync("document.querySelectorAll('[data-server]').length"))!.GetValue<int>()); // health, admin, web and the markup-named one
        Assert.Equal(2, (await browser.EvalAsync("document.querySelectorAll('[data-upstream]').length"))!.GetValue<int>());
        // A name with markup is shown as written, and made no element.
        var names = (await browser.EvalAsync("[...document.querySelectorAll('[data-server] h3')].map(h => h.firstChild.textContent.trim())"))!.AsArray()
            .Select(n => (string)n!).ToList();
        Assert.Contains(NastyServerName, names);
        Assert.Equal(NastyServerName, (string)(await browser.EvalAsync($"document.querySelectorAll('[data-server]')[{names.IndexOf(NastyServerName)}].dataset.server"))!);
        Assert.Equal(0, (await browser.EvalAsync("document.querySelectorAll('main h3 b, main h3 i, [onclick]').length"))!.GetValue<int>());
        Assert.True((await browser.EvalAsync("document.getElementById('stale').offsetParent === null"))!.GetValue<bool>());
        Directory.CreateDirectory(Path.Combine(PrometheusSamples.RepoRoot(), "artifacts", "status-page"));
        await browser.ScreenshotAsync(Path.Combine(PrometheusSamples.RepoRoot(), "artifacts", "status-page", "status-noscript.png"));
    }

    [Fact]
    public async Task The_page_in_chromium_shows_the_tables_and_refreshes_in_place()
    {
        var artifacts = Path.Combine(PrometheusSamples.RepoRoot(), "artifacts", "status-page");
        Directory.CreateDirectory(artifacts);
        await SendThroughAsync(2, "a.test");
        await using var browser = await HeadlessChromium.StartAsync();
        await browser.ViewportAsync(1280, 900, mobile: false);
        await browser.NavigateAsync($"http://{_proxy.Listen("admin")}/status");
        await browser.WaitForAsync("Number(document.body.dataset.refreshes || 0) >= 1", TimeSpan.FromSeconds(10));

        Assert.Equal("function", (string)(await browser.EvalAsync("typeof refresh"))!); // the control for the test with scripts off

        // Both tables show the names from the config.
        Assert.True((await browser.EvalAsync("!!document.querySelector('[data-server=web]') && !!document.querySelector('[data-server=health]')"))!.GetValue<bool>());
        Assert.True((await browser.EvalAsync("!!document.querySelector('[data-upstream=backend]')"))!.GetValue<bool>());
        var before = (string)(await browser.EvalAsync("document.querySelector('[data-server=web] [data-field=total]').textContent"))!;
        await browser.EvalAsync("window.__marker = 'same page'");
        await browser.ScreenshotAsync(Path.Combine(artifacts, "status-desktop.png"));

        // Drive traffic; the numbers change without a reload (the marker survives).
        await SendThroughAsync(3, null);
        // A refresh can land between two of the three connections: wait for the count of all five.
        Assert.Equal("2", before);
        await browser.WaitForAsync("document.querySelector('[data-server=web] [data-field=total]').textContent === '5'", TimeSpan.FromSeconds(10));
        Assert.Equal("5", (string)(await browser.EvalAsync("document.querySelector('[data-server=web] [data-field=total]').textContent"))!);
        Assert.Equal("same page", (string)(await browser.EvalAsync("window.__marker"))!);
        Assert.False((await browser.EvalAsync("document.body.classList.contains('stale')"))!.GetValue<bool>());

        // A phone-sized viewport: the page still lays out without horizontal overflow of the body.
        await browser.ViewportAsync(390, 844, mobile: true);
        await Task.Delay(300);
        Assert.True((await browser.EvalAsync("document.documentElement.scrollWidth <= window.innerWidth + 1"))!.GetValue<bool>());
        await browser.ScreenshotAsync(Path.Combine(artifacts, "status-phone.png"));

        // The proxy goes away: the page says its numbers are stale instead of breaking.
        await _proxy.DisposeAsync();
        _proxy = await InProcessProxy.StartAsync("version: 1\nservers:\n  x: { listen: [\"127.0.0.1:" + TestPorts.Free() + "\"], default: ban }\n", output);
        await browser.WaitForAsync("document.body.classList.contains('stale')", TimeSpan.FromSeconds(10));
        await browser.ScreenshotAsync(Path.Combine(artifacts, "status-stale.png"));
    }
}
