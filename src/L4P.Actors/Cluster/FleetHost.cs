using System.Diagnostics;
using Akka.Actor;
using Akka.Actor.Setup;
using Akka.Cluster.Tools.PublishSubscribe;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Metrics;
using Microsoft.Extensions.Logging;
using AkkaCluster = Akka.Cluster.Cluster;

namespace L4P.Cluster;

/// <summary>
/// Owns the fleet: an ActorSystem of its own (remoting, Akka.Cluster, pub-sub, DistributedData) next to
/// the proxy's, which holds the listeners and relays and knows nothing of the cluster. Akka does not let a
/// downed ActorSystem rejoin, so when the cluster downs or removes this node (a GC pause, a network blip,
/// a freeze) only the fleet system ends: this actor marks the node detached (one warning,
/// <c>l4p_cluster_detached</c> 1, <c>/cluster</c> state <c>detached</c>, fleet-wide limits back to this
/// node's own share, names all looked up here), waits <c>rejoin_after</c>, builds the next incarnation
/// on the same address and lets it join the seeds. Relays never notice. <see cref="Leave"/> is the
/// host's stop: the node leaves the cluster gracefully and does not come back.
/// </summary>
public sealed class FleetHost : ActorBase, IWithTimers
{
    /// <summary>Host -> FleetHost: leave the cluster for good; answered with <see cref="Left"/>.</summary>
    public sealed record Leave : Signal<Leave>;

    public sealed record Left : Signal<Left>;

    private sealed record Built(int Epoch, ActorSystem System);

    private sealed record BuildFailed(int Epoch, string Reason);

    private sealed record MemberUp(int Epoch);

    /// <summary>This node was removed (downed, or left), or its fleet system ended.</summary>
    private sealed record Gone(int Epoch);

    private sealed record OldStopped(int Epoch);

    private sealed record Rebuild : Signal<Rebuild>;

    private sealed record LeftCluster : Signal<LeftCluster>;

    /// <summary>The longest wait between two starts of the fleet system that failed.</summary>
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    private readonly FleetParts _parts;
    private readonly ILogger _log;
    private readonly List<IActorRef> _leaveRequesters = [];
    private ActorSystem? _system;
    private int _epoch;
    private bool _wasUp;
    private bool _leaving;
    private TimeSpan _backoff;
    private long _detachedAt;

    public FleetHost(FleetParts parts)
    {
        _parts = parts;
        _log = parts.Logs.CreateLogger("L4P.Cluster");
        _backoff = parts.Cluster.RejoinAfter;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(FleetParts parts) => Connections.FactoryProps.For(() => new FleetHost(parts));

    protected override void PreStart()
    {
        SetState(FleetState.Joining);
        Build();
    }

    protected override void PostStop()
    {
        // Stopped without a leave (the proxy stopped, or this actor failed and is restarted): the fleet
        // system must not outlive it, or the next one could not bind the cluster port.
        Disconnect();
        _system?.Terminate();
        _system = null;
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Built b when b.Epoch == _epoch && !_leaving:
                Attach(b.System);
                return true;
            case Built b:
                b.System.Terminate(); // built for a leave or an epoch that is over
                return true;
            case BuildFailed f when f.Epoch == _epoch && !_leaving:
                Log.FleetStartFailed(_log, _parts.Cluster.SelfAddress, f.Reason, Durations.Format(_backoff));
                Timers.StartSingleTimer(Rebuild.Instance, Rebuild.Instance, _backoff);
                _backoff = TimeSpan.FromTicks(Math.Min(_backoff.Ticks * 2, MaxBackoff.Ticks));
                return true;
            case BuildFailed:
                return true;
            case MemberUp u when u.Epoch == _epoch && !_leaving:
                SetState(FleetState.Up);
                _backoff = _parts.Cluster.RejoinAfter;
                if (_wasUp) Log.Rejoined(_log, _parts.Cluster.SelfAddress, Stopwatch.GetElapsedTime(_detachedAt).TotalSeconds);
                _wasUp = true;
                return true;
            case Gone g when g.Epoch == _epoch && !_leaving && _system is { } old:
                Detach(old);
                return true;
            case OldStopped o when o.Epoch == _epoch && !_leaving:
                // The old incarnation has let go of the cluster port: the next one can bind it.
                Timers.StartSingleTimer(Rebuild.Instance, Rebuild.Instance, _backoff);
                return true;
            case Rebuild when !_leaving:
                Build();
                return true;
            case Leave:
                _leaveRequesters.Add(Sender);
                if (_leaving) return true;
                _leaving = true;
                SetState(FleetState.Leaving);
                Timers.CancelAll();
                if (_system is { } system)
                {
                    // CoordinatedShutdown's cluster phases: leave, wait until removed, then end the fleet system.
                    Disconnect();
                    CoordinatedShutdown.Get(system).Run(CoordinatedShutdown.ClusterLeavingReason.Instance)
                        .PipeTo(Self, success: () => LeftCluster.Instance, failure: _ => LeftCluster.Instance);
                }
                else Self.Tell(LeftCluster.Instance);
                return true;
            case LeftCluster:
                _system = null;
                foreach (var r in _leaveRequesters) r.Tell(Left.Instance);
                _leaveRequesters.Clear();
                return true;
            case MemberUp or Gone or OldStopped or Rebuild:
                return true; // of an incarnation that is over, or during a leave
            default:
                return false;
        }
    }

    /// <summary>Starts the next incarnation of the fleet system off this actor's thread (it binds the cluster port).</summary>
    private void Build()
    {
        var epoch = ++_epoch;
        var parts = _parts;
        var rejoin = _wasUp;
        Task.Run(() =>
        {
            var hocon = FleetSystemConfig.For(parts.Cluster, rejoin, parts.Hocon);
            var setup = ActorSystemSetup.Create(BootstrapSetup.Create().WithConfig(hocon), new Akka.Hosting.Logging.LoggerFactorySetup(parts.Logs));
            return ActorSystem.Create(ClusterConfig.SystemName, setup);
        }).PipeTo(Self, success: s => new Built(epoch, s), failure: e => new BuildFailed(epoch, e.GetBaseException().Message.ReplaceLineEndings(" ")));
    }

    /// <summary>A new incarnation is running: start the fleet's actors in it and connect the proxy's seams to it.</summary>
    private void Attach(ActorSystem system)
    {
        _system = system;
        var epoch = _epoch;
        var self = Self;
        var cluster = AkkaCluster.Get(system);
        _parts.View.SelfAddress = cluster.SelfAddress.ToString();
        _parts.View.Epoch = epoch;
        _parts.View.ClearCutOff();
        _parts.Limits.Epoch = epoch;
        _parts.StartActors(system, epoch, Context.System.EventStream);
        _parts.Link.Mediator = DistributedPubSub.Get(system).Mediator;
        cluster.RegisterOnMemberUp(() => self.Tell(new MemberUp(epoch)));
        // Runs when this node is removed, and also when the fleet system stops before that.
        cluster.RegisterOnMemberRemoved(() => self.Tell(new Gone(epoch)));
        system.WhenTerminated.PipeTo(self, success: () => new Gone(epoch));
    }

    /// <summary>Out of the cluster: proxy on with the local view, end this incarnation, rebuild once it has stopped.</summary>
    private void Detach(ActorSystem old)
    {
        _detachedAt = Stopwatch.GetTimestamp();
        Disconnect();
        _parts.Limits.Detach();
        _parts.View.Set(System.Collections.Immutable.ImmutableSortedDictionary<string, FleetMember>.Empty);
        _parts.Metrics.ClusterMembers.Set(0);
        SetState(FleetState.Detached);
        Log.Detached(_log, _parts.View.TakeWarning() ? LogLevel.Warning : LogLevel.Information, _parts.Cluster.SelfAddress, Durations.Format(_backoff));
        _system = null;
        var epoch = _epoch;
        old.Terminate().PipeTo(Self, success: () => new OldStopped(epoch), failure: _ => new OldStopped(epoch));
    }

    /// <summary>Nothing the old incarnation's actors still write reaches the proxy, and nothing is published to it.</summary>
    private void Disconnect()
    {
        _parts.Link.Mediator = null;
        _parts.View.Epoch = -1;
        _parts.Limits.Epoch = -1;
    }

    private void SetState(FleetState state)
    {
        _parts.View.State = state;
        _parts.View.ShowIn(_parts.Status, _parts.Metrics);
    }
}

/// <summary>What <see cref="FleetHost"/> builds each fleet incarnation from, and the proxy's seams it feeds.</summary>
public sealed record FleetParts(
    ClusterConfig Cluster,
    Akka.Configuration.Config? Hocon,
    ILoggerFactory Logs,
    ProxyMetrics Metrics,
    ProxyStatus Status,
    FleetView View,
    FleetLimits Limits,
    OutlierTable Outliers,
    FleetLink Link)
{
    /// <summary>
    /// Starts the fleet's long-lived actors of incarnation <paramref name="epoch"/> at the top of its own
    /// system (<c>/user/fleet</c>, <c>/user/fleet-share</c>, <c>/user/fleet-limits</c>), each under
    /// <see cref="FleetSupervision"/>: they live and die with that incarnation.
    /// </summary>
    internal void StartActors(ActorSystem fleet, int epoch, Akka.Event.EventStream proxyEvents)
    {
        (string Name, Props Props)[] actors =
        [
            ("fleet", FleetStatus.Props(View, Metrics, epoch, Status, Logs.CreateLogger("L4P.Cluster"))),
            ("fleet-share", FleetShare.Props(Outliers, View.SelfAddress, proxyEvents)),
            ("fleet-limits", FleetLimiter.Props(Limits, epoch)),
        ];
        foreach (var (name, props) in actors) fleet.ActorOf(FleetSupervision.Props(props, name), name);
    }
}
