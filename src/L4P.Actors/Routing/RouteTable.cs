using System.Collections.Frozen;
using L4P.Config;
using L4P.Protocol;

namespace L4P.Routing;

/// <summary>
/// Where one connection goes: the upstream, the via that applies, the rule that chose it (for logs),
/// and, when the via is active, its CONNECT request with the header lines already encoded.
/// </summary>
public sealed record Route(UpstreamConfig Upstream, ViaConfig Via, string Rule, ConnectRequest? Connect)
{
    /// <summary>The PROXY protocol header to send the backend, if any (the rule's, else the upstream's).</summary>
    public ProxyProtocol.Version? SendProxy { get; init; }
}

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
        var requests = new Dictionary<ViaConfig, ConnectRequest>();
        Route Make(string upstream, ViaConfig? via, string rule, SniRule? sni = null)
        {
            via ??= server.Via;
            ConnectRequest? connect = null;
            if (via.IsActive && !requests.TryGetValue(via, out connect))
                requests[via] = connect = new ConnectRequest(via.Headers);
            var target = upstreams[upstream];
            var sendProxy = sni is { SendProxySet: true } ? sni.SendProxy : (target as TcpUpstreamConfig)?.SendProxy;
            return new(target, via, rule, connect) { SendProxy = sendProxy };
        }

        Default = Make(server.Default, null, "default");
        _exact = server.Sni.Where(r => !r.Pattern.StartsWith("*.", StringComparison.Ordinal))
            .ToFrozenDictionary(r => r.Pattern, r => Make(r.Upstream, r.Via, r.Pattern, r), StringComparer.OrdinalIgnoreCase);
        _exactBySpan = _exact.GetAlternateLookup<ReadOnlySpan<char>>();
        _wildcards = server.Sni.Where(r => r.Pattern.StartsWith("*.", StringComparison.Ordinal))
            .OrderByDescending(r => r.Pattern.Length)
            .Select(r => (r.Pattern[1..], Make(r.Upstream, r.Via, r.Pattern, r)))   // ".example.org"
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
