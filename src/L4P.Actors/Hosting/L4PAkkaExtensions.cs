using Akka.Hosting;
using L4P.Config;
using L4P.Metrics;
using L4P.Proxy;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace L4P.Hosting;

/// <summary>L4P on Akka.Hosting's builder, as <c>WithActors</c> and <c>WithClustering</c> are.</summary>
public static class L4PAkkaExtensions
{
    /// <summary>
    /// Starts the proxy for <paramref name="config"/> under <c>/user/proxy</c> (a <see cref="ProxyGuardian"/>
    /// whose child <c>root</c> is the ProxyRoot, so the app's guardian strategy never restarts the proxy)
    /// when the actor system starts, registered as <c>IRequiredActor&lt;ProxyRoot&gt;</c>. Logs go to the host's
    /// <c>ILoggerFactory</c>, metrics to its <see cref="ProxyMetrics"/> (both registered by
    /// <see cref="L4PServiceCollectionExtensions.AddL4P"/>). Changes no setting of the actor system: the
    /// host's own actors keep their mailbox, dispatcher and supervision. With <c>cluster.enabled</c> the
    /// proxy joins the fleet: Akka.Remote and Akka.Cluster run in an ActorSystem of the fleet's own, built
    /// from the config's <c>cluster:</c> section (README: Cluster mode), so this system needs neither.
    /// </summary>
    public static AkkaConfigurationBuilder WithL4P(this AkkaConfigurationBuilder builder, ProxyConfig config, Action<L4POptions>? configure = null)
    {
        var options = new L4POptions();
        configure?.Invoke(options);
        return builder.WithActors((system, registry, resolver) =>
        {
            var logs = resolver.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance;
            var metrics = resolver.GetService<ProxyMetrics>() ?? new ProxyMetrics();
            var services = options.Services(system, config, logs, metrics);
            registry.Register<ProxyRoot>(system.ActorOf(ProxyGuardian.Props(config, services), options.ActorName));
        });
    }

    /// <summary>
    /// Kept so hosts written against earlier versions still build; changes nothing. The host's ActorSystem
    /// no longer carries Akka.Remote or Akka.Cluster: <see cref="WithL4P"/> runs the fleet in an ActorSystem
    /// of its own, so a node the cluster downs keeps its listeners and relays and rejoins by itself.
    /// </summary>
    public static AkkaConfigurationBuilder WithL4PCluster(this AkkaConfigurationBuilder builder, ProxyConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return builder;
    }
}
