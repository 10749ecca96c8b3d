using Akka.Actor;
using Akka.Cluster;
using Akka.DistributedData;
using AkkaCluster = Akka.Cluster.Cluster;

namespace L4P.Cluster;

/// <summary>
/// The DistributedData side of <see cref="FleetLimits"/>: one <c>LWWDictionary</c> per server
/// (member address -> connections on that member, each entry written only by its member). Every
/// <see cref="Interval"/> it writes this node's changed counts to all members (WriteAll). A change in the
/// other members' counts, a membership change, and every <see cref="Refresh"/> once this node has been
/// quiet for <see cref="Settle"/> give FleetLimits a new view. This node's own writes coming back do not: a view that only adds our own admissions, without
/// news from the others, would let each node take another slice of the same headroom. Entries of
/// members that are gone (left, or downed by the split-brain resolver) are not counted: their share returns.
/// </summary>
public sealed class FleetLimiter : ActorBase, IWithTimers
{
    public static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A new view at least this often, so a node with quiet peers still grows past its first slice: its
    /// ceiling then approaches the limit geometrically (three members: 95% of the headroom in ~8 views).
    /// </summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// ...but only once this node has admitted nothing for this long: a publish plus a notification
    /// (~200 ms), so during a burst the peers' news arrives before this node takes another slice.
    /// </summary>
    public static readonly TimeSpan Settle = TimeSpan.FromMilliseconds(300);

    private sealed record Tick : Signal<Tick>;

    private sealed record RefreshTick : Signal<RefreshTick>;

    private readonly FleetLimits _limits;
    private readonly AkkaCluster _cluster = AkkaCluster.Get(Context.System);
    private readonly IActorRef _replicator = DistributedData.Get(Context.System).Replicator;
    private readonly Dictionary<string, LWWDictionaryKey<string, int>> _keys = [];
    private readonly Dictionary<string, LWWDictionary<string, int>> _data = [];
    private readonly Dictionary<string, int> _othersSeen = [];
    private readonly MemberSet _members = new();
    private readonly int _epoch;
    private string _self = "";
    private bool _cutOff;

    public FleetLimiter(FleetLimits limits, int epoch)
    {
        _limits = limits;
        _epoch = epoch;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    /// <summary>The limiter of fleet incarnation <paramref name="epoch"/> (its views are dropped once that incarnation is gone).</summary>
    public static Props Props(FleetLimits limits, int epoch) => Connections.FactoryProps.For(() => new FleetLimiter(limits, epoch));

    private static LWWDictionaryKey<string, int> KeyFor(string server) => new($"l4p-clients-{server}");

    protected override void PreStart()
    {
        _self = _cluster.SelfAddress.ToString();
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsSnapshot, typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, TimeSpan.Zero, Interval);
        Timers.StartPeriodicTimer(RefreshTick.Instance, RefreshTick.Instance, Refresh);
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tick:
                foreach (var name in _limits.Servers.ToList())
                {
                    if (!_keys.TryGetValue(name, out var key))
                    {
                        _keys[name] = key = KeyFor(name);
                        _replicator.Tell(Dsl.Subscribe(key, Self));
                        ViewOf(name); // members known, no counts yet
                    }
                    if (_limits.TakeUnpublished(name, _epoch) is { } count)
                    {
                        var cluster = _cluster;
                        var self = _self;
                        _replicator.Tell(Dsl.Update(key, LWWDictionary<string, int>.Empty, new WriteAll(TimeSpan.FromSeconds(1)),
                            d => d.SetItem(cluster, self, count)));
                    }
                }
                return true;
            case Changed c when c.Key is LWWDictionaryKey<string, int> key && key.Id.StartsWith("l4p-clients-", StringComparison.Ordinal):
                var server = key.Id["l4p-clients-".Length..];
                _data[server] = c.Get(key);
                if (Others(server) != _othersSeen.GetValueOrDefault(server, -1)) ViewOf(server);
                return true;
            case RefreshTick:
                foreach (var s in _keys.Keys.Where(s => _limits.QuietFor(s, Settle))) ViewOf(s);
                return true;
            case ClusterEvent.CurrentClusterState or ClusterEvent.IMemberEvent or ClusterEvent.IReachabilityEvent:
                _members.Apply(message);
                var cutOff = _members.IsCutOff(_self) ?? _cutOff;
                // Cut off from the majority: the others' counts no longer arrive, so this node's own share.
                if (cutOff && !_cutOff) _limits.Detach(_epoch);
                _cutOff = cutOff;
                foreach (var s in _keys.Keys) ViewOf(s);
                return true;
            case UpdateSuccess or UpdateTimeout or ModifyFailure or StoreFailure:
                return true; // WriteAll timing out only means a member is slow to hear; the next change retries
            default:
                return false;
        }
    }

    /// <summary>The connections of the server on the other live members, as replicated to this node.</summary>
    private int Others(string server)
    {
        if (!_data.TryGetValue(server, out var d)) return 0;
        var others = 0;
        foreach (var (node, count) in d.Entries)
            if (node != _self && _members.IsLive(node)) others += count;
        return others;
    }

    private void ViewOf(string server)
    {
        // Until this node is up (joining, or rejoining after a detach), and while it is cut off, its limits
        // stay as they are: the whole limit at the first start, its own share of the last view after a detach.
        if (!_members.IsUp(_self) || _cutOff) return;
        var others = Others(server);
        _othersSeen[server] = others;
        _limits.SetView(server, others, Math.Max(1, _members.UpCount), _epoch);
    }
}
