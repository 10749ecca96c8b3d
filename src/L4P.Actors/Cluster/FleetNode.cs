using L4P.Config;
using L4P.Proxy;

namespace L4P.Cluster;

/// <summary>Cluster mode's wiring: the fleet's host actor, and the seams of <see cref="ProxyServices"/> it fills.</summary>
public static class FleetNode
{
    /// <summary>The fleet's host actor's name under the ProxyRoot (its backoff supervisor's, which forwards to it).</summary>
    public const string ActorName = "fleet";

    /// <summary>
    /// Prepares this node's fleet (membership and load, shared DNS and outlier verdicts, fleet-wide
    /// limits) from <paramref name="config"/>'s <c>cluster:</c> section: returns <paramref name="services"/>
    /// with the fleet seams in (name ownership, DNS changes to the fleet, outlier broadcast, FleetLimits)
    /// and <see cref="ProxyServices.StartFleet"/>, which starts <see cref="FleetHost"/> under the ProxyRoot.
    /// The fleet runs in an ActorSystem of its own that FleetHost builds (and rebuilds after a detach);
    /// <paramref name="hocon"/> is its fallback Akka config (the proxy system's, or a test's timings).
    /// </summary>
    public static ProxyServices Join(ProxyConfig config, ProxyServices services, Akka.Configuration.Config? hocon = null)
    {
        var self = config.Cluster.SelfAddress;
        var limits = new FleetLimits();
        var view = new FleetView { SelfAddress = self, Limits = limits };
        foreach (var s in config.Servers.Where(s => s.MaxClientsScope == LimitScope.Cluster)) limits.Register(s.Name, s.MaxClients);

        var link = new FleetLink();
        services.Outliers.Origin = self;
        services.Outliers.Broadcast = verdict => link.Mediator?.Tell(new Akka.Cluster.Tools.PublishSubscribe.Publish(FleetShare.OutliersTopic, verdict), Akka.Actor.ActorRefs.NoSender);
        var parts = new FleetParts(config.Cluster, hocon, services.Logs, services.Metrics, services.Status, view, limits, services.Outliers, link);
        services.Status.Cluster = FleetState.Joining;
        return services with
        {
            // Started by ProxyRoot as its child: the fleet lives and dies with the proxy it serves, never the reverse.
            StartFleet = context => context.ActorOf(FleetSupervision.Props(FleetHost.Props(parts), ActorName), ActorName),
            Fleet = view,
            Ownership = view,
            FleetBackends = new FleetShare.BackendsPublisher(link, self),
            FleetLimits = limits,
        };
    }
}
