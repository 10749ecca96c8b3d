using System.Collections.Frozen;
using L4P.Config;

namespace L4P.Routing;

/// <summary>Where one connection goes: the upstream, the via that applies, and the rule that chose it (for logs).</summary>
public sealed record Route(UpstreamConfig Upstream, ViaConfig Via, string Rule);

/// <summary>
/// A server's routing table, compiled once per config: exact names in a frozen dictionary,
/// wildcards by suffix, longest (most specific) first. Lookup allocates nothing for exact hits.
/// </summary>
public sealed class RouteTable
{
    private readonly FrozenDictionary<string, Route> _exact;
    private readonly (string Suffix, Route Route)[] _wildcards;
    private readonly FrozenDictionary<string, Route>.AlternateLookup<ReadOnlySpan<char>> _exactBySpan;

    public Route Default { get; }

    public RouteTable(ServerConfig server, IReadOnlyDictionary<string, UpstreamConfig> upstreams)
    {
        Route Make(string upstream, ViaConfig? via, string rule) => new(upstreams[upstream], via ?? server.Via, rule);

        Default = Make(server.Default, null, "default");
        _exact = server.Sni.Where(r => !r.Pattern.StartsWith("*.", StringComparison.Ordinal))
            .ToFrozenDictionary(r => r.Pattern, r => Make(r.Upstream, r.Via, r.Pattern), StringComparer.OrdinalIgnoreCase);
        _exactBySpan = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcards = server.Sni.Where(r => r.Pattern.StartsWith("*.", StringComparison.Ordinal))
            .OrderByDescending(r => r.Pattern.Length)
            .Select(r => (r.Pattern[1..], Make(r.Upstream, r.Via, r.Pattern)))   // ".example.org"
            .ToArray();
    }

    /// <summary>Exact name (case-insensitive, trailing dot ignored) beats the most specific wildcard; else the default.</summary>
    public Route Match(string? serverName)
    {
        if (string.IsNullOrEmpty(serverName)) return Default;
        var name = serverName.AsSpan().TrimEnd('.');
        if (_exactBySpan.TryGetValue(name, out var exact)) return exact;
        foreach (var (suffix, route) in _wildcards)
            if (name.Length > suffix.Length && name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase))
                return route;
        return Default;
    }
}
