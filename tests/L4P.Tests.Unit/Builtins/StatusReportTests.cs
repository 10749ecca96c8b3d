using System.Text.Json.Nodes;
using L4P.Builtins;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using Xunit;

namespace L4P.Tests.Builtins;

/// <summary>/status.json from a <see cref="ProxyMetrics"/> with known counts: no sockets, no actors.</summary>
public sealed class StatusReportTests
{
    private static readonly ProxyConfig Config = ConfigLoader.Parse("""
        version: 1
        servers:
          web:
            listen: ["127.0.0.1:1", "127.0.0.2:1"]
            maxclients: 50
            tls: true
            sni: { a.test: backend }
            default: backend
          other: { listen: ["127.0.0.3:1"], default: named }
        upstream:
          backend: "tcp://192.0.2.1:443"
          named: "tcp://svc.test:80"
        """, "/etc/l4p/l4p.yaml", _ => null);

    private static readonly DateTimeOffset LoadedAt = DateTimeOffset.Parse("2026-01-02T03:04:05Z", System.Globalization.CultureInfo.InvariantCulture);

    private readonly ProxyMetrics _metrics = new(processMetrics: false);
    private readonly ProxyStatus _status = new("1.2.3") { Current = new StatusGeneration(3, Config, new BackendRegistry(Config), LoadedAt) };

    private JsonNode Report() => JsonNode.Parse(StatusReport.Build(_status, _metrics, _status.StartedAt.AddSeconds(90.04)))!;

    private static JsonNode Named(JsonNode report, string list, string name) =>
        report[list]!.AsArray().Single(x => (string?)x!["name"] == name)!;

    [Fact]
    public void Counters_gauges_and_connect_quantiles_come_out_as_recorded()
    {
        _metrics.ActiveConnections.WithLabels("web", "127.0.0.1:1").Set(2);
        _metrics.ActiveConnections.WithLabels("web", "127.0.0.2:1").Set(1);
        _metrics.Connections.WithLabels("web", "backend", "ok").Inc(7);
        _metrics.Connections.WithLabels("web", "backend", "proxy_status_403").Inc(2);
        _metrics.Connections.WithLabels("web", "-", "rejected_maxclients").Inc(3);
        _metrics.Connections.WithLabels("web", "-", "rejected_max_connections").Inc(1);
        _metrics.Connections.WithLabels("other", "named", "dns_failed").Inc();
        _metrics.Bytes.WithLabels("web", "client_to_upstream").Inc(1234);
        _metrics.Bytes.WithLabels("web", "upstream_to_client").Inc(98765);
        _metrics.Routes.WithLabels("web", "default").Inc(5);
        _metrics.Routes.WithLabels("web", "a.test").Inc(4);
        _metrics.DnsResolutions.WithLabels("named", "failed").Inc(2);
        _metrics.DnsResolutions.WithLabels("named", "ok").Inc();
        _metrics.ConfigReloads.WithLabels("ok").Inc(2);
        _metrics.ConfigReloads.WithLabels("invalid").Inc();
        _metrics.ConfigReloads.WithLabels("bind_failed").Inc();
        _metrics.SetCeiling(1000);
        // Half in the (1 ms, 2 ms] bucket, half in (2 ms, 4 ms]: p50 at 2 ms, p99 interpolated to 3.96 ms.
        for (var i = 0; i < 5; i++)
        {
            _metrics.ObserveUpstreamConnect("backend", 0.0015);
            _metrics.ObserveUpstreamConnect("backend", 0.003);
        }

        var s = Report();
        Assert.Equal("1.2.3", (string?)s["version"]);
        Assert.Equal(90.0, (double)s["uptime_seconds"]!);
        Assert.Equal(3, (int)s["generation"]!);
        Assert.Equal("/etc/l4p/l4p.yaml", (string?)s["config_file"]);
        Assert.Equal(LoadedAt, (DateTimeOffset)s["config_loaded_at"]!);
        Assert.Equal(2, (double)s["config_reloads_ok"]!);
        Assert.Equal(2, (double)s["config_reloads_failed"]!);
        Assert.Equal(1000, (int)s["max_connections"]!);
        Assert.Equal(3, (double)s["active_connections"]!); // both listen addresses of web
        // This test process's own sockets: at least none, read from /proc like the gauge.
        Assert.True((int)s["open_sockets"]! >= 0);

        var web = Named(s, "servers", "web");
        Assert.True((bool)web["tls"]!);
        Assert.Equal("backend", (string?)web["default"]);
        Assert.Equal(50, (int)web["maxclients"]!);
        Assert.Equal("""[{"address":"127.0.0.1:1","active":2,"maxclients":50},{"address":"127.0.0.2:1","active":1,"maxclients":50}]""",
            web["listen"]!.ToJsonString());
        Assert.Equal(3, (double)web["active"]!);
        Assert.Equal(9, (double)web["total"]!);
        Assert.Equal(3, (double)web["rejected"]!);
        Assert.Equal(1, (double)web["rejected_max_connections"]!);
        Assert.Equal(1234, (double)web["bytes_in"]!);
        Assert.Equal(98765, (double)web["bytes_out"]!);
        // Name -> count, sorted by name.
        Assert.Equal("""{"ok":7,"proxy_status_403":2,"rejected_max_connections":1,"rejected_maxclients":3}""", web["results"]!.ToJsonString());
        Assert.Equal("""{"a.test":4,"default":5}""", web["routes"]!.ToJsonString());
        Assert.Equal("""{"dns_failed":1}""", Named(s, "servers", "other")["results"]!.ToJsonString());

        var backend = Named(s, "upstreams", "backend");
        Assert.Equal("tcp://192.0.2.1:443", (string?)backend["url"]);
        Assert.Equal("""[{"address":"192.0.2.1:443","state":"resolved","active":0}]""", backend["addresses"]!.ToJsonString());
        Assert.Equal("roundrobin", (string?)backend["balance"]);
        Assert.Equal(2.0, (double)backend["connect_ms_p50"]!);
        Assert.Equal(3.96, (double)backend["connect_ms_p99"]!);
        Assert.Equal(9, (double)backend["connections"]!);
        Assert.Equal("""{"ok":7,"proxy_status_403":2}""", backend["results"]!.ToJsonString());
        Assert.Equal("""{"403":2}""", backend["connect_status"]!.ToJsonString());
        Assert.Equal(2, (double)Named(s, "upstreams", "named")["dns_failures"]!);
    }

    [Fact]
    public void What_is_not_there_yet_is_null_or_empty()
    {
        var s = Report();
        // Present as JSON null, not left out.
        Assert.True(s.AsObject().ContainsKey("max_connections"));
        Assert.Null(s["max_connections"]);
        var web = Named(s, "servers", "web");
        Assert.Equal(0, (double)web["total"]!);
        Assert.Equal(0, (double)web["listen"]![0]!["active"]!);
        Assert.Equal("{}", web["results"]!.ToJsonString());
        Assert.Equal("{}", web["routes"]!.ToJsonString());
        var named = Named(s, "upstreams", "named");
        Assert.Equal("[]", named["addresses"]!.ToJsonString());
        foreach (var field in new[] { "last_dns_change", "connect_ms_p50", "connect_ms_p99" })
        {
            Assert.True(named.AsObject().ContainsKey(field), field);
            Assert.Null(named[field]);
        }
        Assert.Equal("{}", named["connect_status"]!.ToJsonString());
        Assert.Equal(["backend", "named"], s["upstreams"]!.AsArray().Select(u => (string?)u!["name"]));
    }

    [Fact]
    public void A_ceiling_withdrawn_is_null_again()
    {
        _metrics.SetCeiling(10);
        _metrics.SetCeiling(null);
        Assert.Null(Report()["max_connections"]);
    }

    [Fact]
    public void Before_the_first_config_there_is_no_generation_and_nothing_configured()
    {
        var s = JsonNode.Parse(StatusReport.Build(new ProxyStatus("1.2.3"), _metrics, DateTimeOffset.UtcNow))!.AsObject();
        Assert.False(s.ContainsKey("generation"));
        Assert.False(s.ContainsKey("config_file"));
        Assert.False(s.ContainsKey("config_loaded_at"));
        Assert.Empty(s["servers"]!.AsArray());
        Assert.Empty(s["upstreams"]!.AsArray());
    }

    [Fact]
    public void Reading_the_report_creates_no_series()
    {
        Report();
        Assert.Empty(_metrics.ActiveConnections.GetAllLabelValues());
        Assert.Empty(_metrics.Connections.GetAllLabelValues());
    }
}
