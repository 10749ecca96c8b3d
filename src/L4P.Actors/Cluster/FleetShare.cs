using System.Net;
using Akka.Actor;
using Akka.Cluster.Tools.PublishSubscribe;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Resolution;

namespace L4P.Cluster;

/// <summary>A DNS change as it crosses the cluster: plain strings, and the node that looked it up.</summary>
public sealed record BackendsWire(string Host, AddressFamilyFilter Family, string[] Addresses, string Origin);

/// <summary>
/// What one node learns and the others use: DNS changes (from the names it owns) and outlier verdicts,
/// on two distributed pub-sub topics. Subscribed on every node; what other nodes publish goes onto the
/// proxy's EventStream (Routers and Resolvers listen there; the proxy's ActorSystem, not the fleet's) or
/// into its <see cref="OutlierTable"/>.
/// A node's own messages come back too and are skipped: they were applied when published.
/// </summary>
public sealed class FleetShare : ActorBase
{
    public const string BackendsTopic = "l4p-backends";
    public const string OutliersTopic = "l4p-outliers";

    private readonly OutlierTable _outliers;
    private readonly string _self;
    private readonly Akka.Event.EventStream _proxyEvents;
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;

    public FleetShare(OutlierTable outliers, string self, Akka.Event.EventStream proxyEvents)
    {
        _outliers = outliers;
        _self = self;
        _proxyEvents = proxyEvents;
    }

    public static Props Props(OutlierTable outliers, string self, Akka.Event.EventStream proxyEvents) =>
        Connections.FactoryProps.For(() => new FleetShare(outliers, self, proxyEvents));

    protected override void PreStart()
    {
        _mediator.Tell(new Subscribe(BackendsTopic, Self));
        _mediator.Tell(new Subscribe(OutliersTopic, Self));
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case BackendsWire w when w.Origin != _self:
                var addresses = w.Addresses.Select(a => IPAddress.TryParse(a, out var ip) ? ip : null).OfType<IPAddress>();
                _proxyEvents.Publish(new BackendsChanged(new BackendKey(w.Host, w.Family), [.. addresses]));
                return true;
            case OutlierVerdict v when v.Origin != _self:
                _outliers.Apply(v);
                return true;
            case BackendsWire or OutlierVerdict or SubscribeAck:
                return true;
            default:
                return false;
        }
    }

    /// <summary>Sends this node's DNS changes to the fleet (to nobody while it is detached).</summary>
    public sealed class BackendsPublisher(FleetLink link, string self) : IBackendsPublisher
    {
        public void Publish(BackendsChanged change) =>
            link.Mediator?.Tell(new Publish(BackendsTopic,
                new BackendsWire(change.Key.Host, change.Key.Family, [.. change.Addresses.Select(a => a.ToString())], self)));
    }
}
