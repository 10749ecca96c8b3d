using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using L4P.Config;
using L4P.Proxy;
using AkkaCluster = Akka.Cluster.Cluster;

namespace L4P.Cluster;

/// <summary>Cluster mode's wiring: the fleet's actors, and the seams of <see cref="ProxyServices"/> they fill.</summary>
public static class FleetNode
{
    /// <summary>
    /// Prepares this node's fleet (membership and load, shared DNS and outlier verdicts, fleet-wide
    /// limits) on a system that has Akka.Cluster configured: returns <paramref name="services"/> with the
    /// fleet seams in (name ownership, DNS changes to the fleet, outlier broadcast, FleetLimits) and the
    /// fleet's actors to start under the ProxyRoot (<see cref="ProxyServices.StartFleet"/>).
    /// </summary>
    public static ProxyServices Join(ActorSystem system, ProxyConfig config, ProxyServices services)
    {
        var self = AkkaCluster.Get(system).SelfAddress.ToString();
        var mediator = DistributedPubSub.Get(system).Mediator;
        var limits = new FleetLimits();
        var view = new FleetView { SelfAddress = self, Limits = limits };
        foreach (var s in config.Servers.Where(s => s.MaxClientsScope == LimitScope.Cluster)) limits.Register(s.Name, s.MaxClients);

        services.Outliers.Origin = self;
        services.Outliers.Broadcast = verdict => mediator.Tell(new Publish(FleetShare.OutliersTopic, verdict));
        var outliers = services.Outliers;
        var metrics = services.Metrics;
        return services with
        {
            // Started by ProxyRoot as its children: the fleet lives and dies with the proxy it serves.
            StartFleet = context =>
            {
                context.ActorOf(FleetStatus.Props(view, metrics), "fleet");
                context.ActorOf(FleetShare.Props(outliers, self), "fleet-share");
                context.ActorOf(FleetLimiter.Props(limits), "fleet-limits");
            },
            Fleet = view,
            Ownership = view,
            FleetBackends = new FleetShare.BackendsPublisher(mediator, self),
            FleetLimits = limits,
        };
    }
}
