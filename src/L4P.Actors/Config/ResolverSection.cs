using System.Collections.Immutable;
using System.Net;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary><c>resolver:</c>: how upstream names are re-resolved.</summary>
internal static class ResolverSection
{
    private static readonly Section<ResolverConfig> ResolverKeys = new(KeyListing.Or)
    {
        { "nameservers", (y, v, p, r) => r with { Nameservers = Nameservers(y, v, p) } },
        { "interval", (y, v, p, r) => r with { Interval = y.PositiveDuration(v, p) } },
        { "retry", (y, v, p, r) => r with { Retry = y.PositiveDuration(v, p) } },
        { "timeout", (y, v, p, r) => r with { Timeout = y.PositiveDuration(v, p) } },
        { "respect_ttl", (y, v, p, r) => r with { RespectTtl = y.Bool(v, p) } },
        { "min_ttl", (y, v, p, r) => r with { MinTtl = y.PositiveDuration(v, p) } },
    };

    public static ResolverConfig Read(YamlNodes y, YamlNode node, string path)
    {
        if (y.OptionalMapping(node, path) is not { } map) return ResolverConfig.Defaults;
        var r = ResolverKeys.Read(y, map, path, ResolverConfig.Defaults);
        if (r.RespectTtl && r.Nameservers.IsEmpty)
            throw y.Error(YamlNodes.Find(map, "respect_ttl").Value, $"{path}.respect_ttl", "needs resolver.nameservers (the system resolver gives no TTL)");
        return r;
    }

    private static ImmutableArray<IPEndPoint> Nameservers(YamlNodes y, YamlNode value, string path)
    {
        var list = ImmutableArray.CreateBuilder<IPEndPoint>();
        foreach (var (text, itemNode, itemPath) in y.StringList(value, path))
        {
            // A bare IP means port 53.
            if (IPAddress.TryParse(text, out var bare)) list.Add(new IPEndPoint(bare, 53));
            else if (Addresses.TryParseListen(text, out var ep, out var problem)) list.Add(ep);
            else throw y.Error(itemNode, itemPath, problem.Replace("listen takes", "nameservers take", StringComparison.Ordinal));
        }
        return list.ToImmutable();
    }
}
