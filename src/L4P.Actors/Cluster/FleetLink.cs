using Akka.Actor;

namespace L4P.Cluster;

/// <summary>
/// The current fleet incarnation's pub-sub mediator, for the proxy's seams that publish to the fleet
/// (outlier verdicts, DNS changes). Null while the fleet is down (detached, or not started yet): what
/// this node learns then stays local, and the next incarnation does not replay it.
/// </summary>
public sealed class FleetLink
{
    private volatile IActorRef? _mediator;

    public IActorRef? Mediator { get => _mediator; internal set => _mediator = value; }
}
