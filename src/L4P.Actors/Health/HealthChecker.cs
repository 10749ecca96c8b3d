using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using L4P.Config;
using L4P.Metrics;
using Microsoft.Extensions.Logging;

namespace L4P.Health;

/// <summary>
/// Active health checks of one upstream: every <c>check.interval</c> a <see cref="CheckProbe"/> per
/// address its router last named in <see cref="Targets"/> (one probe at a time per address). <c>fall</c>
/// failures in a row make a <see cref="Verdict"/> "down" for the router (new connections skip the
/// address), <c>rise</c> successes one "up". Addresses start up. Each change is logged once and exported
/// as <c>l4p_upstream_up</c>. Probes are watched: one that dies without reporting counts as a failed
/// check, so that address is probed again at the next tick instead of never.
/// </summary>
public sealed class HealthChecker : ActorBase, IWithTimers
{
    /// <summary>Router -> HealthChecker: the addresses of the upstream now (DNS changed them).</summary>
    public sealed record Targets(ImmutableArray<IPEndPoint> Endpoints);

    /// <summary>HealthChecker -> Router: <paramref name="Endpoint"/> of <paramref name="Upstream"/> went up or down.</summary>
    public sealed record Verdict(string Upstream, IPEndPoint Endpoint, bool Up);

    private sealed record Tick : Signal<Tick>;

    private sealed class State
    {
        public bool Up = true;
        public int Successes;
        public int Failures;
        public bool Probing;
    }

    private readonly TcpUpstreamConfig _upstream;
    private readonly HealthCheckConfig _check;
    private ImmutableArray<IPEndPoint> _endpoints;
    private readonly IActorRef _tcp;
    private readonly ILogger _log;
    private readonly ProxyMetrics _metrics;
    private readonly Dictionary<IPEndPoint, State> _states = [];
    private readonly Dictionary<IActorRef, IPEndPoint> _probes = [];

    public HealthChecker(TcpUpstreamConfig upstream, ImmutableArray<IPEndPoint> endpoints, IActorRef tcpManager, ILogger log, ProxyMetrics metrics)
    {
        _endpoints = endpoints;
        _upstream = upstream;
        _check = upstream.Check!;
        _tcp = tcpManager;
        _log = log;
        _metrics = metrics;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(TcpUpstreamConfig upstream, ImmutableArray<IPEndPoint> endpoints, IActorRef tcpManager, ILogger log, ProxyMetrics metrics) =>
        Connections.FactoryProps.For(() => new HealthChecker(upstream, endpoints, tcpManager, log, metrics));

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart() => Timers.StartPeriodicTimer(Tick.Instance, Tick.Instance, TimeSpan.Zero, _check.Interval);

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Targets t:
                _endpoints = t.Endpoints;
                return true;
            case Tick:
                foreach (var ep in _endpoints)
                {
                    if (!_states.TryGetValue(ep, out var state))
                    {
                        _states[ep] = state = new State();
                        _metrics.UpstreamUp.WithLabels(_upstream.Name, ep.ToString()).Set(1);
                    }
                    if (state.Probing) continue;
                    state.Probing = true;
                    var probe = Context.ActorOf(CheckProbe.Props(ep, _check, _tcp));
                    Context.Watch(probe);
                    _probes[probe] = ep;
                }
                return true;
            case Terminated t when _probes.Remove(t.ActorRef, out var probed):
                Self.Tell(new CheckProbe.Result(probed, false, "the probe stopped without a result"));
                return true;
            case Terminated:
                return true; // a probe that had reported
            case CheckProbe.Result r when _states.TryGetValue(r.Endpoint, out var s):
                if (!Sender.Equals(Self)) _probes.Remove(Sender);
                s.Probing = false;
                if (r.Ok)
                {
                    s.Failures = 0;
                    if (!s.Up && ++s.Successes >= _check.Rise) Change(r.Endpoint, s, up: true, r.Detail);
                }
                else
                {
                    s.Successes = 0;
                    if (s.Up && ++s.Failures >= _check.Fall) Change(r.Endpoint, s, up: false, r.Detail);
                }
                return true;
            case CheckProbe.Result:
                if (!Sender.Equals(Self)) _probes.Remove(Sender);
                return true;
            default:
                return false;
        }
    }

    private void Change(IPEndPoint ep, State s, bool up, string detail)
    {
        s.Up = up;
        s.Successes = s.Failures = 0;
        Context.Parent.Tell(new Verdict(_upstream.Name, ep, up));
        _metrics.UpstreamUp.WithLabels(_upstream.Name, ep.ToString()).Set(up ? 1 : 0);
        if (up) Log.AddressUp(_log, _upstream.Name, ep, _check.Rise, detail);
        else Log.AddressDown(_log, _upstream.Name, ep, _check.Fall, detail);
    }
}
