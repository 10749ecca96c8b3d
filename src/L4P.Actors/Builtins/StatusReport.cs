using System.Globalization;
using System.Text.Json;
using L4P.Config;
using L4P.Connections;
using L4P.Metrics;

namespace L4P.Builtins;

/// <summary>
/// <c>GET /status.json</c>: servers and upstreams with their counters, built from the same metrics text
/// as <c>/metrics</c> plus the current config generation. Field names are stable (additive changes only);
/// the README documents them.
/// </summary>
public static class StatusReport
{
    private static readonly string RejectedMaxClients = CloseCode.RejectedMaxClients.Label();
    private static readonly string RejectedMaxConnections = CloseCode.RejectedMaxConnections.Label();

    public static byte[] Build(ProxyStatus status, string metricsText, DateTimeOffset now)
    {
        var samples = Exposition.Parse(metricsText);
        double Sum(string name, Func<Exposition.Sample, bool> where) => samples.Where(s => s.Name == name && where(s)).Sum(s => s.Value);

        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("version", status.Version);
            w.WriteString("now", now);
            w.WriteNumber("uptime_seconds", Math.Round((now - status.StartedAt).TotalSeconds, 1));
            var gen = status.Current;
            if (gen is not null)
            {
                w.WriteNumber("generation", gen.Number);
                w.WriteString("config_file", gen.Config.SourcePath);
                w.WriteString("config_loaded_at", gen.LoadedAt);
            }
            w.WriteNumber("config_reloads_ok", Sum("l4p_config_reloads_total", s => s.Label("result") == "ok"));
            w.WriteNumber("config_reloads_failed", Sum("l4p_config_reloads_total", s => s.Label("result") != "ok"));
            if (samples.FirstOrDefault(s => s.Name == "l4p_max_connections") is { } ceiling) w.WriteNumber("max_connections", ceiling.Value);
            else w.WriteNull("max_connections");

            w.WriteStartArray("servers");
            foreach (var server in gen?.Config.Servers ?? [])
            {
                bool Mine(Exposition.Sample s) => s.Label("server") == server.Name;
                w.WriteStartObject();
                w.WriteString("name", server.Name);
                w.WriteBoolean("tls", server.Tls);
                w.WriteString("default", server.Default);
                w.WriteNumber("maxclients", server.MaxClients);
                w.WriteStartArray("listen");
                foreach (var ep in server.Listen)
                {
                    var addr = ep.ToString();
                    w.WriteStartObject();
                    w.WriteString("address", addr);
                    w.WriteNumber("active", Sum("l4p_active_connections", s => Mine(s) && s.Label("listen") == addr));
                    w.WriteNumber("maxclients", server.MaxClients);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                w.WriteNumber("active", Sum("l4p_active_connections", Mine));
                w.WriteNumber("total", Sum("l4p_connections_total", s => Mine(s) && s.Label("result") != RejectedMaxClients && s.Label("result") != RejectedMaxConnections));
                w.WriteNumber("rejected", Sum("l4p_connections_total", s => Mine(s) && s.Label("result") == RejectedMaxClients));
                w.WriteNumber("rejected_max_connections", Sum("l4p_connections_total", s => Mine(s) && s.Label("result") == RejectedMaxConnections));
                w.WriteNumber("bytes_in", Sum("l4p_bytes_total", s => Mine(s) && s.Label("direction") == "client_to_upstream"));
                w.WriteNumber("bytes_out", Sum("l4p_bytes_total", s => Mine(s) && s.Label("direction") == "upstream_to_client"));
                WriteCounts(w, "results", samples.Where(s => s.Name == "l4p_connections_total" && Mine(s)), "result");
                WriteCounts(w, "routes", samples.Where(s => s.Name == "l4p_routes_total" && Mine(s)), "rule");
                w.WriteEndObject();
            }
            w.WriteEndArray();

            w.WriteStartArray("upstreams");
            foreach (var up in (gen?.Config.Upstreams.Values ?? []).OfType<TcpUpstreamConfig>().OrderBy(u => u.Name, StringComparer.Ordinal))
            {
                bool Mine(Exposition.Sample s) => s.Label("upstream") == up.Name;
                w.WriteStartObject();
                w.WriteString("name", up.Name);
                w.WriteString("url", up.Url);
                w.WriteStartArray("addresses");
                foreach (var a in gen!.Backends.Endpoints(up.Name))
                {
                    w.WriteStartObject();
                    w.WriteString("address", a.ToString());
                    // With health checks: up or down. Without: resolved (used for new connections).
                    // Ejected (outlier:, this node's or the fleet's verdict) unless checks say down.
                    w.WriteString("state", up.Check is not null && gen.Backends.IsDown(up.Name, a) ? "down"
                        : gen.Backends.IsEjected(up.Name, a) ? "ejected"
                        : up.Check is null ? "resolved" : "up");
                    w.WriteNumber("active", gen.Backends.ActiveOn(up.Name, a));
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                if (gen.Backends.ChangedAt(up.Name) is { } changed) w.WriteString("last_dns_change", changed);
                else w.WriteNull("last_dns_change");
                w.WriteString("balance", up.Balance.ToString().ToLowerInvariant());
                w.WriteNumber("dns_failures", Sum("l4p_dns_resolutions_total", s => Mine(s) && s.Label("result") == "failed"));
                var buckets = samples.Where(s => s.Name == "l4p_upstream_connect_seconds_bucket" && Mine(s))
                    .Select(s => (Le: s.Label("le") == "+Inf" ? double.PositiveInfinity : double.Parse(s.Label("le"), CultureInfo.InvariantCulture), Count: s.Value))
                    .ToList();
                WriteMs(w, "connect_ms_p50", BucketCounts.Quantile(0.5, buckets));
                WriteMs(w, "connect_ms_p99", BucketCounts.Quantile(0.99, buckets));
                w.WriteNumber("connections", Sum("l4p_connections_total", Mine));
                WriteCounts(w, "results", samples.Where(s => s.Name == "l4p_connections_total" && Mine(s)), "result");
                WriteCounts(w, "connect_status", samples.Where(s => s.Name == "l4p_connections_total" && Mine(s) && s.Label("result").StartsWith(CloseCodes.ProxyStatusPrefix, StringComparison.Ordinal)),
                    "result", CloseCodes.ProxyStatusPrefix);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    private static void WriteMs(Utf8JsonWriter w, string name, double? seconds)
    {
        if (seconds is { } s) w.WriteNumber(name, Math.Round(s * 1000, 3));
        else w.WriteNull(name);
    }

    private static void WriteCounts(Utf8JsonWriter w, string name, IEnumerable<Exposition.Sample> samples, string label, string strip = "")
    {
        w.WriteStartObject(name);
        foreach (var g in samples.GroupBy(s => s.Label(label)).OrderBy(g => g.Key, StringComparer.Ordinal))
            w.WriteNumber(g.Key[strip.Length..], g.Sum(s => s.Value));
        w.WriteEndObject();
    }
}
