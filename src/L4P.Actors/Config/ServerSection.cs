using System.Collections.Immutable;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary>One entry of <c>servers:</c>, with its <c>sni:</c> rules and <c>timeouts:</c>.</summary>
internal static class ServerSection
{
    private static readonly Section<ServerTimeouts> TimeoutKeys = new(KeyListing.Or)
    {
        { "client_hello", (y, v, p, t) => t with { ClientHello = y.PositiveDuration(v, p) } },
        { "connect", (y, v, p, t) => t with { Connect = y.PositiveDuration(v, p) } },
        { "idle", (y, v, p, t) => t with { Idle = y.PositiveDuration(v, p) } },
        { "http_request", (y, v, p, t) => t with { HttpRequest = y.PositiveDuration(v, p) } },
    };

    private static readonly Section<SniRule> SniRuleKeys = new(KeyListing.Or)
    {
        { "upstream", (y, v, p, r) => r with { Upstream = y.String(v, p) } },
        { "via", (y, v, p, r) => r with { Via = ViaSection.Read(y, v, p) } },
        { "send_proxy", (y, v, p, r) => r with { SendProxy = UpstreamSection.SendProxy(y, v, p), SendProxySet = true } },
    };

    // maxclients_scope: cluster is refused where it is written unless cluster mode is on: one table per mode.
    private static readonly Section<ServerConfig> StandaloneKeys = ServerKeys(clustered: false);
    private static readonly Section<ServerConfig> ClusteredKeys = ServerKeys(clustered: true);

    private static Section<ServerConfig> ServerKeys(bool clustered) => new(KeyListing.OneOf)
    {
        { "listen", (y, v, p, s) => s with { Listen = Listen(y, v, p) } },
        { "protocol", Protocol },
        { "tls", (y, v, p, s) => s with { Tls = y.Bool(v, p) } },
        { "sni", (y, v, p, s) => s with { Sni = SniRules(y, v, p) } },
        { "default", (y, v, p, s) => s with { Default = y.String(v, p) } },
        { "maxclients", (y, v, p, s) => s with { MaxClients = y.Int(v, p, 1, 1_000_000) } },
        { "via", (y, v, p, s) => s with { Via = ViaSection.Read(y, v, p) } },
        { "timeouts", (y, v, p, s) => s with { Timeouts = TimeoutKeys.Read(y, y.Mapping(v, p), p, s.Timeouts) } },
        { "client_hello_timeout", (y, v, p, s) => s with { Timeouts = s.Timeouts with { ClientHello = y.PositiveDuration(v, p) } } },
        { "accept_proxy", (y, v, p, s) => s with { AcceptProxy = y.Bool(v, p) } },
        { "accept_proxy_from", (y, v, p, s) => s with { AcceptProxyFrom = Networks(y, v, p) } },
        { "allow", (y, v, p, s) => s with { Allow = Networks(y, v, p) } },
        { "deny", (y, v, p, s) => s with { Deny = Networks(y, v, p) } },
        { "admin_token", (y, v, p, s) => s with { AdminToken = Token(y, v, p) } },
        { "maxclients_scope", (y, v, p, s) => s with { MaxClientsScope = Scope(y, v, p, clustered) } },
        { "frame_size", (y, v, p, s) => s with { FrameSize = y.Size(v, p, ServerConfig.MinFrameSize, ServerConfig.MaxFrameSize) } },
    };

    public static ServerConfig Read(YamlNodes y, string name, YamlNode node, string path,
        ImmutableDictionary<string, UpstreamConfig> upstreams, bool clustered)
    {
        var map = y.Mapping(node, path);
        var server = (clustered ? ClusteredKeys : StandaloneKeys).Read(y, map, path,
            new ServerConfig(name, [], false, [], "ban", 100, ViaConfig.None, ServerTimeouts.Defaults));

        if (server.Listen.IsEmpty)
            throw y.Error(YamlNodes.Find(map, "listen").Value ?? node, $"{path}.listen", "missing: give at least one address, e.g. [\"127.0.0.1:8080\"]");
        if (YamlNodes.Find(map, "accept_proxy_from").Value is { } from && !server.AcceptProxy)
            throw y.Error(from, $"{path}.accept_proxy_from", "has no effect without accept_proxy: true");
        // tls-proxy-tunnel: a via without a target (no CONNECT) still carries connect_timeout, and there it
        // is the connect timeout of direct connections. An explicit timeouts.connect wins.
        if (!server.Via.IsActive && YamlNodes.Has(YamlNodes.Find(map, "via").Value, "connect_timeout")
            && !YamlNodes.Has(YamlNodes.Find(map, "timeouts").Value, "connect"))
            server = server with { Timeouts = server.Timeouts with { Connect = server.Via.ConnectTimeout } };
        CheckUpstream(y, map, "default", server.Default, $"{path}.default", upstreams);
        foreach (var rule in server.Sni)
            CheckUpstream(y, map, "sni", rule.Upstream, $"{path}.sni.{rule.Pattern}", upstreams);
        CheckAdmin(y, map, path, server);
        return server;
    }

    /// <summary>
    /// The admin built-in trusts the client address: behind accept_proxy that is whatever the header claims,
    /// so the senders must be named, or anyone could claim 127.0.0.1. A token on a server without admin
    /// protects nothing and would only mislead.
    /// </summary>
    private static void CheckAdmin(YamlNodes y, YamlMappingNode map, string path, ServerConfig server)
    {
        var admin = server.RoutesTo(BuiltinKind.Admin);
        if (server.AdminToken is not null && !admin)
            throw y.Error(YamlNodes.Find(map, "admin_token").Value ?? map, $"{path}.admin_token", "has no effect: no route of this server goes to the built-in admin");
        if (admin && server.AcceptProxy && server.AcceptProxyFrom.IsEmpty)
            throw y.Error(YamlNodes.Find(map, "accept_proxy").Value ?? map, $"{path}.accept_proxy",
                "a server that routes to the built-in admin needs accept_proxy_from too (else any client may claim a loopback address in its PROXY header)");
    }

    private static BearerToken Token(YamlNodes y, YamlNode value, string path)
    {
        var secret = y.String(value, path);
        return BearerToken.Problem(secret) is { } problem ? throw y.Error(value, path, problem) : new BearerToken(secret);
    }

    private static ImmutableArray<IPEndPoint> Listen(YamlNodes y, YamlNode value, string path)
    {
        var listen = ImmutableArray.CreateBuilder<IPEndPoint>();
        foreach (var (text, itemNode, itemPath) in y.StringList(value, path))
        {
            if (!Addresses.TryParseListen(text, out var ep, out var problem))
                throw y.Error(itemNode, itemPath, problem);
            if (listen.Contains(ep)) throw y.Error(itemNode, itemPath, $"duplicate listen address {ep}");
            listen.Add(ep);
        }
        return listen.ToImmutable();
    }

    private static ServerConfig Protocol(YamlNodes y, YamlNode value, string path, ServerConfig server)
    {
        var proto = y.String(value, path);
        if (proto.Equals("tcp", StringComparison.OrdinalIgnoreCase)) return server;
        throw y.Error(value, path, proto.Equals("kcp", StringComparison.OrdinalIgnoreCase)
            ? "protocol 'kcp' (from fourth) is not supported; L4P proxies tcp only"
            : $"unknown protocol '{proto}' (expected tcp)");
    }

    /// <summary><c>accept_proxy_from</c>, <c>allow</c>, <c>deny</c>: CIDR blocks or single addresses, IPv4 and IPv6.</summary>
    private static ImmutableArray<IPNetwork> Networks(YamlNodes y, YamlNode value, string path) =>
        [.. y.StringList(value, path).Select(item => Addresses.TryParseNetwork(item.Value, out var network)
            ? network
            : throw y.Error(item.Node, item.Path, $"'{item.Value}' is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)"))];

    private static LimitScope Scope(YamlNodes y, YamlNode value, string path, bool clustered)
    {
        var scope = y.String(value, path).ToLowerInvariant() switch
        {
            "node" => LimitScope.Node,
            "cluster" => LimitScope.Cluster,
            var other => throw y.Error(value, path, $"unknown scope '{other}' (expected node or cluster)"),
        };
        return scope == LimitScope.Cluster && !clustered
            ? throw y.Error(value, path, "'cluster' needs cluster mode (a cluster: section with enabled: true)")
            : scope;
    }

    private static void CheckUpstream(YamlNodes y, YamlMappingNode server, string key, string upstream, string path,
        ImmutableDictionary<string, UpstreamConfig> upstreams)
    {
        if (upstreams.ContainsKey(upstream)) return;
        var known = string.Join(", ", upstreams.Keys.Order(StringComparer.Ordinal));
        throw y.Error(YamlNodes.Find(server, key).Value ?? server, path, $"unknown upstream '{upstream}' (defined: {known})");
    }

    private static ImmutableArray<SniRule> SniRules(YamlNodes y, YamlNode value, string path)
    {
        var rules = ImmutableArray.CreateBuilder<SniRule>();
        if (y.OptionalMapping(value, path) is { } map)
            foreach (var (pattern, target, patternNode) in y.Entries(map, path))
                rules.Add(SniRule(y, pattern, target, patternNode, $"{path}.{pattern}", rules));
        return rules.ToImmutable();
    }

    private static SniRule SniRule(YamlNodes y, string pattern, YamlNode target, YamlNode patternNode, string path,
        ImmutableArray<SniRule>.Builder seen)
    {
        var normalized = pattern.Trim().TrimEnd('.').ToLowerInvariant();
        var host = normalized.StartsWith("*.", StringComparison.Ordinal) ? normalized[2..] : normalized;
        if (!Addresses.IsHostName(host) || host.Contains('*'))
            throw y.Error(patternNode, path, $"'{pattern}' is not a server name or a wildcard such as *.example.org");
        if (seen.Any(r => r.Pattern == normalized))
            throw y.Error(patternNode, path, $"duplicate SNI rule '{normalized}'");

        if (target is YamlScalarNode)
            return new SniRule(normalized, y.String(target, path), null);
        var map = y.Mapping(target, path);
        var rule = SniRuleKeys.Read(y, map, path, new SniRule(normalized, "", null));
        return YamlNodes.Find(map, "upstream").Key is null
            ? throw y.Error(target, $"{path}.upstream", "missing: name the upstream for this server name")
            : rule;
    }
}
