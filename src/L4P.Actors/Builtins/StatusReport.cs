using System.Text.Json;
using L4P.Config;
using L4P.Connections;
using L4P.Metrics;
using Prometheus;

namespace L4P.Builtins;

/// <summary>
/// <c>GET /status.json</c>: servers and upstreams with their counters, read from the same prometheus-net
/// collectors as <c>/metrics</c> plus the current config generation. Field names are stable (additive
/// changes only); the README documents them.
/// </summary>
public static class StatusReport
{
    private static readonly string RejectedMaxClients = CloseCode.RejectedMaxClients.Label();
    private static readonly string RejectedMaxConnections = CloseCode.RejectedMaxConnections.Label();

    public static byte[] Build(ProxyStatus status, ProxyMetrics metrics, DateTimeOffset now) =>
        JsonSerializer.SerializeToUtf8Bytes(Snapshot(status, metrics, now), StatusJson.Default.StatusDocument);

    internal static StatusDocument Snapshot(ProxyStatus status, ProxyMetrics metrics, DateTimeOffset now)
    {
        var gen = status.Current;
        var active = Read(metrics.ActiveConnections, c => c.Value);
        var connections = Read(metrics.Connections, c => c.Value);
        var bytes = Read(metrics.Bytes, c => c.Value);
        var routes = Read(metrics.Routes, c => c.Value);
        var dns = Read(metrics.DnsResolutions, c => c.Value);
        var reloads = Read(metrics.ConfigReloads, c => c.Value);

        var servers = (gen?.Config.Servers ?? []).Select(server =>
        {
            var mine = new Func<Sample, bool>(s => s.Label("server") == server.Name);
            var results = connections.Where(mine).ToList();
            return new ServerStatus(server.Name, server.Tls, server.Default, server.MaxClients,
                [.. server.Listen.Select(ep => ep.ToString()).Select(addr =>
                    new ListenStatus(addr, Sum(active, s => mine(s) && s.Label("listen") == addr), server.MaxClients))],
                Active: Sum(active, mine),
                Total: Sum(results, s => s.Label("result") != RejectedMaxClients && s.Label("result") != RejectedMaxConnections),
                Rejected: Sum(results, s => s.Label("result") == RejectedMaxClients),
                RejectedMaxConnections: Sum(results, s => s.Label("result") == RejectedMaxConnections),
                BytesIn: Sum(bytes, s => mine(s) && s.Label("direction") == "client_to_upstream"),
                BytesOut: Sum(bytes, s => mine(s) && s.Label("direction") == "upstream_to_client"),
                Results: Counts(results, "result"),
                Routes: Counts(routes.Where(mine), "rule"));
        });

        var upstreams = (gen?.Config.Upstreams.Values ?? []).OfType<TcpUpstreamConfig>().OrderBy(u => u.Name, StringComparer.Ordinal).Select(up =>
        {
            var results = connections.Where(s => s.Label("upstream") == up.Name).ToList();
            return new UpstreamStatus(up.Name, up.Url,
                [.. gen!.Backends.Endpoints(up.Name).Select(a => new AddressStatus(a.ToString(),
                    // With health checks: up or down. Without: resolved (used for new connections).
                    // Ejected (outlier:, this node's or the fleet's verdict) unless checks say down.
                    up.Check is not null && gen.Backends.IsDown(up.Name, a) ? "down"
                        : gen.Backends.IsEjected(up.Name, a) ? "ejected"
                        : up.Check is null ? "resolved" : "up",
                    gen.Backends.ActiveOn(up.Name, a)))],
                gen.Backends.ChangedAt(up.Name),
                up.Balance.ToString().ToLowerInvariant(),
                DnsFailures: Sum(dns, s => s.Label("upstream") == up.Name && s.Label("result") == "failed"),
                ConnectMsP50: Ms(metrics.UpstreamConnectTimes.Quantile(0.5, up.Name)),
                ConnectMsP99: Ms(metrics.UpstreamConnectTimes.Quantile(0.99, up.Name)),
                Connections: Sum(results, _ => true),
                Results: Counts(results, "result"),
                ConnectStatus: Counts(results.Where(s => s.Label("result").StartsWith(CloseCodes.ProxyStatusPrefix, StringComparison.Ordinal)),
                    "result", CloseCodes.ProxyStatusPrefix));
        });

        return new StatusDocument(status.Version, now, Math.Round((now - status.StartedAt).TotalSeconds, 1),
            gen?.Number, gen?.Config.SourcePath, gen?.LoadedAt,
            ConfigReloadsOk: Sum(reloads, s => s.Label("result") == "ok"),
            ConfigReloadsFailed: Sum(reloads, s => s.Label("result") != "ok"),
            metrics.Ceiling, ActiveConnections: Sum(active, _ => true), Metrics.OpenSockets.Count(), [.. servers], [.. upstreams])
        {
            Cluster = status.Cluster is { } c ? L4P.Cluster.FleetStates.Label(c) : null,
        };
    }

    /// <summary>One child of a labelled collector: its label values (in the collector's label order) and value.</summary>
    private sealed record Sample(string[] Names, string[] Values, double Value)
    {
        public string Label(string name) => Values[Array.IndexOf(Names, name)];
    }

    /// <summary>Every child the collector has; WithLabels of a listed label set returns that child, so reading creates none.</summary>
    private static List<Sample> Read<TChild>(Collector<TChild> collector, Func<TChild, double> value) where TChild : ChildBase =>
        [.. collector.GetAllLabelValues().Select(labels => new Sample(collector.LabelNames, labels, value(collector.WithLabels(labels))))];

    private static double Sum(IEnumerable<Sample> samples, Func<Sample, bool> where) => samples.Where(where).Sum(s => s.Value);

    private static double? Ms(double? seconds) => seconds is { } s ? Math.Round(s * 1000, 3) : null;

    /// <summary>Name -> count, sorted by name (ordinal), each name the label value without <paramref name="strip"/>.</summary>
    private static SortedDictionary<string, double> Counts(IEnumerable<Sample> samples, string label, string strip = "") =>
        new(samples.GroupBy(s => s.Label(label)[strip.Length..]).ToDictionary(g => g.Key, g => g.Sum(s => s.Value)), StringComparer.Ordinal);
}
