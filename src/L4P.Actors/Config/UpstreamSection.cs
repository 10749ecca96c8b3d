using System.Collections.Immutable;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary><c>upstream:</c>: named TCP upstreams, each with its targets, balancing, health check and outlier detection.</summary>
internal static class UpstreamSection
{
    private static readonly Section<HealthCheckConfig> CheckKeys = new(KeyListing.Or)
    {
        { "interval", (y, v, p, c) => c with { Interval = y.PositiveDuration(v, p) } },
        { "timeout", (y, v, p, c) => c with { Timeout = y.PositiveDuration(v, p) } },
        { "rise", (y, v, p, c) => c with { Rise = y.Int(v, p, 1, 100) } },
        { "fall", (y, v, p, c) => c with { Fall = y.Int(v, p, 1, 100) } },
        { "send", (y, v, p, c) => c with { Send = y.String(v, p) } },
        { "expect", (y, v, p, c) => c with { Expect = y.String(v, p) } },
    };

    private static readonly Section<OutlierConfig> OutlierKeys = new(KeyListing.Or)
    {
        { "failures", (y, v, p, o) => o with { Failures = y.Int(v, p, 1, 1000) } },
        { "eject_for", (y, v, p, o) => o with { EjectFor = y.PositiveDuration(v, p) } },
    };

    private static readonly Section<TcpUpstreamConfig> UpstreamKeys = new(KeyListing.Or)
    {
        { "target", (y, v, p, u) => u with { Targets = u.Targets.Add(Target(y, v, p)) } },
        { "targets", (y, v, p, u) => u with { Targets = u.Targets.AddRange(Targets(y, v, p)) } },
        { "balance", (y, v, p, u) => u with { Balance = BalanceRule(y, v, p) } },
        { "check", (y, v, p, u) => u with { Check = CheckKeys.ReadOptional(y, v, p, HealthCheckConfig.Defaults) } },
        { "outlier", (y, v, p, u) => u with { Outlier = OutlierKeys.ReadOptional(y, v, p, OutlierConfig.Defaults) } },
        { "send_proxy", (y, v, p, u) => u with { SendProxy = SendProxy(y, v, p) } },
    };

    /// <summary>The built-in upstreams and those of <c>upstream:</c>, which may not redefine them.</summary>
    public static ImmutableDictionary<string, UpstreamConfig> ReadAll(YamlNodes y, YamlNode node, string path)
    {
        var upstreams = BuiltinUpstreamConfig.All.ToBuilder();
        if (y.OptionalMapping(node, path) is { } map)
            foreach (var (name, value, nameNode) in y.Entries(map, path))
            {
                if (BuiltinUpstreamConfig.All.ContainsKey(name))
                    throw y.Error(nameNode, $"{path}.{name}", $"'{name}' is a built-in upstream and cannot be redefined");
                upstreams[name] = Read(y, name, value, $"{path}.{name}");
            }
        return upstreams.ToImmutable();
    }

    /// <summary>
    /// A string (<c>tcp://host:port</c>) or a mapping:
    /// <c>{ target | targets, balance, check, outlier, send_proxy }</c>.
    /// </summary>
    private static TcpUpstreamConfig Read(YamlNodes y, string name, YamlNode node, string path)
    {
        if (node is not YamlMappingNode map) return new TcpUpstreamConfig(name, [Target(y, node, path)]);
        var up = UpstreamKeys.Read(y, map, path, new TcpUpstreamConfig(name, []));
        return up.Targets.IsEmpty
            ? throw y.Error(node, $"{path}.target", "missing: give the upstream's URL (target) or URLs (targets), e.g. tcp://host:443")
            : up;
    }

    private static Balance BalanceRule(YamlNodes y, YamlNode value, string path) => y.String(value, path).ToLowerInvariant() switch
    {
        "roundrobin" or "round_robin" => Balance.RoundRobin,
        "leastconn" or "least_conn" => Balance.LeastConn,
        "random" => Balance.Random,
        "source" => Balance.Source,
        var other => throw y.Error(value, path, $"unknown balance '{other}' (expected roundrobin, leastconn, random or source)"),
    };

    public static Protocol.ProxyProtocol.Version? SendProxy(YamlNodes y, YamlNode node, string path) =>
        y.String(node, path).ToLowerInvariant() switch
        {
            "v1" or "1" => Protocol.ProxyProtocol.Version.V1,
            "v2" or "2" => Protocol.ProxyProtocol.Version.V2,
            "off" or "false" or "none" => null,
            var other => throw y.Error(node, path, $"unknown PROXY protocol version '{other}' (expected v1, v2 or off)"),
        };

    private static IEnumerable<TargetConfig> Targets(YamlNodes y, YamlNode value, string path) =>
        value is YamlSequenceNode seq
            ? seq.Children.Select((item, i) => Target(y, item, $"{path}[{i}]"))
            : throw y.Error(value, path, $"expected a list of URLs, got {YamlNodes.Describe(value)}");

    private static TargetConfig Target(YamlNodes y, YamlNode node, string path)
    {
        var url = y.String(node, path);
        var sep = url.IndexOf("://", StringComparison.Ordinal);
        if (sep < 0) throw y.Error(node, path, $"'{url}' is not a URL (expected tcp://host:port, tcp4://host:port or tcp6://host:port)");
        var scheme = url[..sep].ToLowerInvariant();
        var family = scheme switch
        {
            "tcp" => AddressFamilyFilter.Any,
            "tcp4" => AddressFamilyFilter.IPv4,
            "tcp6" => AddressFamilyFilter.IPv6,
            _ => throw y.Error(node, path, $"unsupported scheme '{scheme}' in '{url}' (expected tcp, tcp4 or tcp6)"),
        };
        var rest = url[(sep + 3)..].TrimEnd('/');
        if (!Addresses.TrySplitHostPort(rest, out var host, out var port, out var problem))
            throw y.Error(node, path, problem);
        var target = new TargetConfig(host, port, family, url);
        if (target.Literal is { } ip && (family == AddressFamilyFilter.IPv4 && ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                                         || family == AddressFamilyFilter.IPv6 && ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6))
            throw y.Error(node, path, $"address {ip} does not match scheme {scheme}");
        return target;
    }
}
