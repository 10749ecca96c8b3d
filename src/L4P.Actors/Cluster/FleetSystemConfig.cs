using System.Globalization;
using Akka.Configuration;
using L4P.Config;

namespace L4P.Cluster;

/// <summary>
/// The Akka settings of the fleet's own ActorSystem: remoting and Akka.Cluster from the config's
/// <c>cluster:</c> section, the keep-majority split-brain resolver, and a CoordinatedShutdown that ends
/// this system only: when the cluster downs the node, the fleet system stops and the proxy's system,
/// its listeners and relays, and the process stay.
/// </summary>
public static class FleetSystemConfig
{
    /// <summary>
    /// The settings for one incarnation. <paramref name="rejoin"/>: this node has been a member before, so
    /// it leaves itself out of its seed list: a node that comes back while the others are still out of
    /// reach must keep trying them, not form a cluster of one (Akka clusters never merge).
    /// </summary>
    public static Akka.Configuration.Config For(ClusterConfig cluster, bool rejoin, Akka.Configuration.Config? fallback = null)
    {
        var seeds = rejoin ? cluster.SeedNodes.Where(s => s != cluster.SelfAddress).ToList() : [.. cluster.SeedNodes];
        if (seeds.Count == 0) seeds = [.. cluster.SeedNodes];
        var config = ConfigurationFactory.ParseString($$"""
            akka.actor.provider = cluster
            akka.remote.dot-netty.tcp { hostname = {{Quote(cluster.Hostname)}}, port = {{cluster.Port.ToString(CultureInfo.InvariantCulture)}} }
            akka.cluster {
              seed-nodes = [{{string.Join(", ", seeds.Select(Quote))}}]
              roles = [{{string.Join(", ", cluster.Roles.Select(Quote))}}]
              downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
              split-brain-resolver {
                active-strategy = keep-majority
                stable-after = {{Ms(cluster.DownAfter)}}
              }
              # Downed: the fleet system shuts itself down (FleetHost then builds the next one).
              run-coordinated-shutdown-when-down = on
            }
            # This system's CoordinatedShutdown ends this system, never the process: the host owns that.
            akka.coordinated-shutdown {
              exit-clr = off
              run-by-clr-shutdown-hook = off
              terminate-actor-system = on
            }
            akka.loggers = ["Akka.Hosting.Logging.LoggerFactoryLogger, Akka.Hosting"]
            """);
        return fallback is null ? config : config.WithFallback(fallback);
    }

    private static string Quote(string s) => "\"" + s.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";

    private static string Ms(TimeSpan t) => ((long)t.TotalMilliseconds).ToString(CultureInfo.InvariantCulture) + "ms";
}
