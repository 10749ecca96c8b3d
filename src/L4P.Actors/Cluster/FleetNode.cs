using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using L4P.Config;
using L4P.Connections;
using AkkaCluster = Akka.Cluster.Cluster;

namespace L4P.Cluster;

/// <summary>Cluster mode's wiring: the node-wide actors, and the seams of <see cref="ProxyServices"/> they fill.</summary>
public static class FleetNode
{
    /// <summary>
    /// Starts this node's fleet actors (membership and load, shared DNS and outlier verdicts, fleet-wide
    /// limits) on a system that has Akka.Cluster configured, and returns <paramref name="services"/> with
    /// the fleet seams in: name ownership, DNS changes to the fleet, outlier broadcast, FleetLimits.
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
        system.ActorOf(FleetStatus.Props(view, services.Metrics), "fleet");
        system.ActorOf(FleetShare.Props(services.Outliers, self), "fleet-share");
        system.ActorOf(FleetLimiter.Props(limits), "fleet-limits");
        return services with
        {
            Fleet = view,
            Ownership = view,
            FleetBackends = new FleetShare.BackendsPublisher(mediator, self),
            FleetLimits = limits,
        };
    }
}
