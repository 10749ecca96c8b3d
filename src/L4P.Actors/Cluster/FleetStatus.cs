using System.Collections.Immutable;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Tools.PublishSubscribe;
using L4P.Metrics;
using AkkaCluster = Akka.Cluster.Cluster;

namespace L4P.Cluster;

/// <summary>
/// Keeps this node's <see cref="FleetView"/>: membership from Akka.Cluster's events, and every member's
/// active connection count, which each node publishes on a distributed pub-sub topic every
/// <see cref="Interval"/>. Members that left or were downed disappear from the view.
/// </summary>
public sealed class FleetStatus : ActorBase, IWithTimers
{
    public const string Topic = "l4p-fleet-load";
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>What a node publishes about itself.</summary>
    public sealed record NodeLoad(string Address, long ActiveConnections);

    private sealed record Tick : Signal<Tick>;

    private readonly FleetView _view;
    private readonly ProxyMetrics _metrics;
    private readonly AkkaCluster _cluster = AkkaCluster.Get(Context.System);
    private readonly IActorRef _mediator = DistributedPubSub.Get(Context.System).Mediator;
    private readonly Dictionary<string, (long Active, DateTimeOffset At)> _loads = [];
    private readonly MemberSet _members = new();
    private readonly int _epoch;
    private readonly ProxyStatus _status;
    private readonly Microsoft.Extensions.Logging.ILogger _log;
    private bool _cutOff;

    public FleetStatus(FleetView view, ProxyMetrics metrics, int epoch, ProxyStatus status, Microsoft.Extensions.Logging.ILogger log)
    {
        _view = view;
        _metrics = metrics;
        _epoch = epoch;
        _status = status;
        _log = log;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The status of fleet incarnation <paramref name="epoch"/> (its writes are dropped once that incarnation is gone).</summary>
    public static Props Props(FleetView view, ProxyMetrics metrics, int epoch, ProxyStatus status, Microsoft.Extensions.Logging.ILogger log) =>
        Connections.FactoryProps.For(() => new FleetStatus(view, metrics, epoch, status, log));

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        _mediator.Tell(new Subscribe(Topic, Self));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, TimeSpan.Zero, Interval);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tick:
                _mediator.Tell(new Publish(Topic, new NodeLoad(_view.SelfAddress, _metrics.TotalActive)));
                Refresh();
                return true;
            case NodeLoad load:
                _loads[load.Address] = (load.ActiveConnections, DateTimeOffset.UtcNow);
                return true;
            case ClusterEvent.CurrentClusterState or ClusterEvent.IMemberEvent or ClusterEvent.IReachabilityEvent:
                _members.Apply(message);
                Refresh();
                return true;
            case SubscribeAck:
                return true;
            default:
                return false;
        }
    }

    private void Refresh()
    {
        var members = ImmutableSortedDictionary.CreateBuilder<string, FleetMember>(StringComparer.Ordinal);
        foreach (var m in _members.Members)
        {
            var address = m.Address.ToString();
            var status = _members.IsUnreachable(m) ? "unreachable" : m.Status.ToString().ToLowerInvariant();
            var load = _loads.TryGetValue(address, out var l) ? l : default((long, DateTimeOffset)?);
            members[address] = new FleetMember(address, status, [.. m.Roles.Order(StringComparer.Ordinal)], load?.Item1, load?.Item2);
        }
        foreach (var gone in _loads.Keys.Where(k => !members.ContainsKey(k)).ToList()) _loads.Remove(gone);
        if (_view.Set(members.ToImmutable(), _epoch)) _metrics.ClusterMembers.Set(members.Values.Count(m => m.Status == "up"));
        var cutOff = _members.IsCutOff(_view.SelfAddress) ?? _cutOff;
        if (cutOff == _cutOff || !_view.SetCutOff(cutOff, _epoch)) return;
        _cutOff = cutOff;
        // The limits follow the state shown at once; FleetLimiter hears the same news on its own subscription.
        if (cutOff) _view.Limits?.Detach(_epoch);
        _view.ShowIn(_status, _metrics);
        var up = _members.Members.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp).ToList();
        if (cutOff) Log.CutOff(_log, _view.TakeWarning() ? Microsoft.Extensions.Logging.LogLevel.Warning : Microsoft.Extensions.Logging.LogLevel.Information,
            _view.SelfAddress, up.Count(m => !_members.IsUnreachable(m)), up.Count);
        else Log.ReachableAgain(_log, _view.SelfAddress);
    }
}
