using System.Globalization;
using System.Net;
using System.Text;
using L4P.Metrics;

namespace L4P.Builtins;

/// <summary>
/// <c>GET /status</c>: the page with every table already filled in on the server, from the same
/// <see cref="StatusReport"/> as <c>/status.json</c>, so curl, a text browser or a browser with scripts
/// off see the numbers. The page's script then refreshes the same markup in place every 2 s; the two
/// renderings (here and <c>render()</c> in status.html) produce the same elements, classes and
/// <c>data-</c> attributes. Every name, pattern and address is config or peer text: HTML-encoded.
/// </summary>
public static class StatusPage
{
    private static readonly Lazy<string> Template = new(() =>
    {
        using var stream = typeof(StatusPage).Assembly.GetManifestResourceStream("status.html")!;
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    });

    public static byte[] Build(ProxyStatus status, ProxyMetrics metrics, DateTimeOffset now)
    {
        var s = StatusReport.Snapshot(status, metrics, now);
        var html = Template.Value
            .Replace("<!--=version-->", Esc(s.Version), StringComparison.Ordinal)
            .Replace("<!--=now-->", Esc(Time(s.Now, "yyyy-MM-dd HH:mm:ss")), StringComparison.Ordinal)
            .Replace("<!--=uptime-->", Esc(Duration(s.UptimeSeconds)), StringComparison.Ordinal)
            .Replace("<!--=generation-->", Num(s.Generation), StringComparison.Ordinal)
            .Replace("<!--=loaded-->", s.ConfigLoadedAt is { } l ? Esc(Time(l, "yyyy-MM-dd HH:mm:ss")) : "-", StringComparison.Ordinal)
            .Replace("<!--=ceiling-->", Num(s.MaxConnections), StringComparison.Ordinal)
            .Replace("<!--=active-->", Num(s.ActiveConnections), StringComparison.Ordinal)
            .Replace("<!--=sockets-->", Num(s.OpenSockets), StringComparison.Ordinal)
            .Replace("<!--=cluster-hidden-->", s.Cluster is null ? " hidden" : "", StringComparison.Ordinal)
            .Replace("<!--=cluster-->", Esc(s.Cluster ?? ""), StringComparison.Ordinal)
            .Replace("<!--=servers-->", Servers(s.Servers), StringComparison.Ordinal)
            .Replace("<!--=upstreams-->", Upstreams(s.Upstreams), StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(html);
    }

    private static string Servers(IReadOnlyList<ServerStatus> servers)
    {
        var b = new StringBuilder();
        foreach (var v in servers)
        {
            var name = Esc(v.Name);
            b.Append("\n    <div class=\"card\" data-server=\"").Append(name).Append("\"><h3>").Append(name).Append(" <small>")
                .Append(v.Tls ? "tls, " : "").Append("default ").Append(Esc(v.Default))
                .Append("</small></h3>\n    <table><tr><th>listen</th><th>maxclients use</th><th>active</th><th>total</th><th>rejected</th><th>bytes in</th><th>bytes out</th></tr>\n    ");
            for (var i = 0; i < v.Listen.Count; i++)
            {
                var a = v.Listen[i];
                b.Append("<tr><td>").Append(Esc(a.Address)).Append("</td><td>")
                    .Append(Bar(a.Active, a.Maxclients)).Append("</td>\n      ")
                    .Append("<td class=\"num\" data-field=\"active\">").Append(Num(a.Active)).Append("</td>\n      ");
                if (i == 0)
                {
                    var rows = v.Listen.Count.ToString(CultureInfo.InvariantCulture);
                    b.Append("<td class=\"num\" data-field=\"total\" rowspan=\"").Append(rows).Append("\">").Append(Num(v.Total)).Append("</td>\n      ")
                        .Append("<td class=\"num\" data-field=\"rejected\" rowspan=\"").Append(rows).Append("\">").Append(Num(v.Rejected)).Append("</td>\n      ")
                        .Append("<td class=\"num\" data-field=\"bytes_in\" rowspan=\"").Append(rows).Append("\">").Append(Bytes(v.BytesIn)).Append("</td>\n      ")
                        .Append("<td class=\"num\" data-field=\"bytes_out\" rowspan=\"").Append(rows).Append("\">").Append(Bytes(v.BytesOut)).Append("</td>");
                }
                b.Append("</tr>");
            }
            b.Append("\n    <tr><td colspan=\"7\" class=\"kv\">results: ").Append(Kv(v.Results))
                .Append("<br>routes: ").Append(Kv(v.Routes)).Append("</td></tr></table></div>");
        }
        return b.ToString();
    }

    private static string Upstreams(IReadOnlyList<UpstreamStatus> upstreams)
    {
        var b = new StringBuilder();
        foreach (var u in upstreams)
        {
            var name = Esc(u.Name);
            var addresses = u.Addresses.Select(a => (a.Address, a.State)).DefaultIfEmpty((Address: "(none)", State: "down")).ToList();
            var rows = addresses.Count.ToString(CultureInfo.InvariantCulture);
            b.Append("\n    <div class=\"card\" data-upstream=\"").Append(name).Append("\"><h3>").Append(name).Append(" <small>")
                .Append(Esc(u.Url)).Append("</small></h3>\n    ")
                .Append("<table><tr><th>address</th><th>state</th><th>last DNS change</th><th>connect p50</th><th>connect p99</th><th>connections</th></tr>\n    ");
            for (var i = 0; i < addresses.Count; i++)
            {
                var state = Esc(addresses[i].State);
                b.Append("<tr><td>").Append(Esc(addresses[i].Address)).Append("</td>\n      <td class=\"state ").Append(state).Append("\">").Append(state).Append("</td>\n      ");
                if (i == 0)
                {
                    b.Append("<td rowspan=\"").Append(rows).Append("\">").Append(u.LastDnsChange is { } changed ? Esc(Time(changed, "HH:mm:ss")) : "-").Append("</td>\n      ")
                        .Append("<td class=\"num\" rowspan=\"").Append(rows).Append("\">").Append(Ms(u.ConnectMsP50)).Append("</td>\n      ")
                        .Append("<td class=\"num\" rowspan=\"").Append(rows).Append("\">").Append(Ms(u.ConnectMsP99)).Append("</td>\n      ")
                        .Append("<td class=\"num\" data-field=\"connections\" rowspan=\"").Append(rows).Append("\">").Append(Num(u.Connections)).Append("</td>");
                }
                b.Append("</tr>");
            }
            b.Append("\n    <tr><td colspan=\"6\" class=\"kv\">results: ").Append(Kv(u.Results))
                .Append("<br>CONNECT status: ").Append(Kv(u.ConnectStatus))
                .Append("; DNS failures: ").Append(Num(u.DnsFailures)).Append("</td></tr></table></div>");
        }
        return b.ToString();
    }

    private static string Esc(string? s) => WebUtility.HtmlEncode(s ?? "");

    /// <summary>As the script's <c>num</c> (en-US grouping): "-" for null.</summary>
    private static string Num(double? n) => n is { } v ? v.ToString("#,0.###", CultureInfo.InvariantCulture) : "-";

    private static string Ms(double? n) => n is { } v ? v.ToString(CultureInfo.InvariantCulture) + " ms" : "-";

    private static string Time(DateTimeOffset at, string format) => at.ToUniversalTime().ToString(format, CultureInfo.InvariantCulture) + " UTC";

    private static string Bytes(double n)
    {
        string[] units = ["B", "KiB", "MiB", "GiB", "TiB"];
        var i = 0;
        while (n >= 1024 && i < units.Length - 1)
        {
            n /= 1024;
            i++;
        }
        return (i == 0 ? n.ToString(CultureInfo.InvariantCulture) : n.ToString("0.0", CultureInfo.InvariantCulture)) + " " + units[i];
    }

    private static string Duration(double seconds)
    {
        var s = (long)Math.Floor(seconds);
        long d = s / 86400, h = s % 86400 / 3600, m = s % 3600 / 60;
        return (d > 0 ? $"{d}d " : "") + (d > 0 || h > 0 ? $"{h}h " : "") + $"{m}m {s % 60}s";
    }

    private static string Kv(IReadOnlyDictionary<string, double> counts) =>
        counts.Count == 0 ? "-" : string.Join(", ", counts.Select(p => Esc(p.Key) + "=" + Num(p.Value)));

    private static string Bar(double active, double max)
    {
        var pct = max > 0 ? Math.Min(100, 100 * active / max) : 0;
        var level = pct >= 100 ? " full" : pct >= 80 ? " high" : "";
        return $"<span class=\"bar{level}\" title=\"{Num(active)} of {Num(max)}\"><i style=\"width:{pct.ToString("0.##", CultureInfo.InvariantCulture)}%\"></i></span> {Num(active)}/{Num(max)}";
    }
}
