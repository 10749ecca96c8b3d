using System.Collections.Immutable;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary><c>cluster:</c>: this node's remoting address, its seed nodes and roles, and the detach/rejoin timings.</summary>
internal static class ClusterSection
{
    private static readonly Section<ClusterConfig> ClusterKeys = new(KeyListing.Or)
    {
        { "enabled", (y, v, p, c) => c with { Enabled = y.Bool(v, p) } },
        { "hostname", (y, v, p, c) => c with { Hostname = y.String(v, p) } },
        { "port", (y, v, p, c) => c with { Port = y.Int(v, p, 1, 65535) } },
        { "seed_nodes", (y, v, p, c) => c with { SeedNodes = SeedNodes(y, v, p) } },
        { "roles", (y, v, p, c) => c with { Roles = [.. y.StringList(v, p).Select(r => r.Value)] } },
        { "down_after", (y, v, p, c) => c with { DownAfter = y.PositiveDuration(v, p) } },
        { "rejoin_after", (y, v, p, c) => c with { RejoinAfter = y.PositiveDuration(v, p) } },
    };

    // An empty cluster: is off; cluster: {} is on with every default.
    public static ClusterConfig Read(YamlNodes y, YamlNode node, string path) =>
        y.OptionalMapping(node, path) is { } map ? ClusterKeys.Read(y, map, path, ClusterConfig.Disabled with { Enabled = true }) : ClusterConfig.Disabled;

    private static ImmutableArray<string> SeedNodes(YamlNodes y, YamlNode value, string path)
    {
        var seeds = ImmutableArray.CreateBuilder<string>();
        foreach (var (text, itemNode, itemPath) in y.StringList(value, path))
        {
            // host:port is shorthand for the Akka address of an L4P node there.
            var hostPort = text.StartsWith("akka.tcp://", StringComparison.Ordinal) ? text[(text.IndexOf('@') + 1)..] : text;
            if (text.StartsWith("akka.tcp://", StringComparison.Ordinal) && !text.StartsWith($"akka.tcp://{ClusterConfig.SystemName}@", StringComparison.Ordinal))
                throw y.Error(itemNode, itemPath, $"'{text}' is not an L4P node (expected akka.tcp://{ClusterConfig.SystemName}@host:port or host:port)");
            if (!Addresses.TrySplitHostPort(hostPort, out var h, out var port, out var problem))
                throw y.Error(itemNode, itemPath, problem);
            seeds.Add($"akka.tcp://{ClusterConfig.SystemName}@{h}:{port}");
        }
        return seeds.ToImmutable();
    }
}
