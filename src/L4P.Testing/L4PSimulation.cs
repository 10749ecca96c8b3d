using System.Collections.Concurrent;
using System.Net;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using Microsoft.Extensions.Logging;
using Xunit.Sdk;

namespace L4P.Testing;

/// <summary>
/// A whole L4P proxy (ProxyRoot and everything under it: listeners, connections, routers, resolvers) started
/// from a YAML config inside a TestKit test, with a simulated network in place of Akka.IO, scripted DNS and
/// virtual time, so a config's behaviour can be checked without a socket, a DNS server or a sleep: accept
/// clients on its listen addresses, see where it dials and answer, relay bytes, advance time past its
/// timeouts, change DNS answers, reload and drain. The test class must pass <see cref="Config"/> to its
/// TestKit base constructor (virtual time); one simulation per TestKit.
/// </summary>
/// <example>
/// <code>
/// public sealed class MyConfigTests() : TestKit(L4PSimulation.Config)
/// {
///     [Fact]
///     public void Routes_by_sni()
///     {
///         using var sim = L4PSimulation.Start(this, File.ReadAllText("l4p.yaml")); // disposing checks no socket leaked
///         var client = sim.Accept("0.0.0.0:443");
///         client.Send(HelloBuilder.Hello("api.example.com"));
///         var upstream = sim.ExpectConnect("10.0.0.5:443").Accept();
///         ...
///     }
/// }
/// </code>
/// </example>
public sealed class L4PSimulation : IDisposable
{
    /// <summary>
    /// The TestKit config a simulation needs: virtual time (<see cref="SimulatedScheduler"/>), so timers fire only
    /// when the test calls <see cref="Advance"/>. Pass it to the TestKit base constructor (<c>: TestKit(L4PSimulation.Config)</c>).
    /// </summary>
    public const string Config = "akka.scheduler.implementation = \"L4P.Testing.SimulatedScheduler, L4P.Testing\"";

    private readonly TestKitBase _kit;
    private readonly SimulatedScheduler _scheduler;
    private readonly TestProbe _settle;
    private readonly ProxyServices _services;
    private readonly TestProbe _dials;
    private readonly TestProbe _control;
    private readonly ConcurrentDictionary<IPEndPoint, IActorRef> _listening;
    private readonly ConcurrentDictionary<IPEndPoint, string> _failBinds;
    private readonly LogCapture _logs;
    private readonly Func<string, string?> _environment;
    private int _logCursor;
    private int _clients;
    private int _upstreams;

    private L4PSimulation(TestKitBase kit, SimulatedScheduler scheduler, ProxyServices services, TestProbe dials, TestProbe control,
        ConcurrentDictionary<IPEndPoint, IActorRef> listening, ConcurrentDictionary<IPEndPoint, string> failBinds, LogCapture logs,
        Func<string, string?> environment, IActorRef root)
    {
        _kit = kit;
        _scheduler = scheduler;
        _settle = kit.CreateTestProbe("l4p-settle");
        _services = services;
        _dials = dials;
        _control = control;
        _listening = listening;
        _failBinds = failBinds;
        _logs = logs;
        _environment = environment;
        Root = root;
    }

    /// <summary>
    /// Parses <paramref name="yaml"/> (as <c>--config</c> would; <paramref name="environment"/> answers <c>${VAR}</c>, none by
    /// default), starts the proxy under <c>/user/proxy</c> and returns once every listen address is bound. Upstream
    /// names resolve through <paramref name="dns"/>: script its answers before, as the first lookups happen at start.
    /// </summary>
    public static L4PSimulation Start(TestKitBase testKit, string yaml, ScriptedDns? dns = null, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(testKit);
        if (testKit.Sys.Scheduler is not SimulatedScheduler scheduler)
            throw new InvalidOperationException(
                $"L4PSimulation needs virtual time: pass L4PSimulation.Config to the TestKit base constructor (the scheduler is {testKit.Sys.Scheduler.GetType().Name})");
        environment ??= _ => null;
        var config = ConfigLoader.Parse(yaml, "simulation.yaml", environment);
        var logs = new LogCapture(Level(config.Log));
        var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Trace).AddProvider(logs));
        var metrics = new ProxyMetrics(processMetrics: false);
        var clock = new SchedulerClock(scheduler);
        var dials = testKit.CreateTestProbe("l4p-dials");
        var control = testKit.CreateTestProbe("l4p-control");
        var listening = new ConcurrentDictionary<IPEndPoint, IActorRef>();
        var failBinds = new ConcurrentDictionary<IPEndPoint, string>();
        var network = testKit.Sys.ActorOf(SimulatedNetwork.Props(dials.Ref, listening, failBinds), "l4p-network");
        var services = new ProxyServices(network, dns ?? new ScriptedDns(), factory, metrics)
        {
            Time = clock,
            Outliers = new OutlierTable(factory, metrics, clock),
            Status = new ProxyStatus("simulation"),
        };
        var root = testKit.Sys.ActorOf(ProxyGuardian.Props(config, services), "proxy");
        control.Send(root, ProxyRoot.WaitReady.Instance);
        var answer = control.ReceiveOne(control.RemainingOrDefault)
            ?? throw new XunitException("the proxy did not get ready: no first DNS round or bind finished in time");
        if (answer is ProxyRoot.BindFailed f)
            throw new XunitException($"cannot listen on {f.Address} (servers.{f.Server}.listen): {f.Reason}");
        return new L4PSimulation(testKit, scheduler, services, dials, control, listening, failBinds, logs, environment, root);
    }

    /// <summary>The proxy's root actor (<c>/user/proxy</c>), for messages of your own (<c>ProxyRoot.Reload</c>, <c>Drain</c>).</summary>
    public IActorRef Root { get; }

    /// <summary>The simulated Akka.IO TCP manager (what the proxy's <c>ProxyServices.TcpManager</c> is): actors of your own can bind and dial through it too.</summary>
    public IActorRef TcpManager => _services.TcpManager;

    /// <summary>The DNS the proxy asks; change answers here, then advance past <c>resolver.interval</c>.</summary>
    public ScriptedDns Dns => (ScriptedDns)_services.Dns;

    /// <summary>The proxy's Prometheus metrics (what <c>/metrics</c> would show), e.g. <c>Metrics.Connections.WithLabels(server, upstream, result).Value</c>.</summary>
    public ProxyMetrics Metrics => _services.Metrics;

    /// <summary>Every log line so far, as the text format writes them (<c>info: L4P.Connections[1] conn server=...</c>), at the config's <c>log</c> level.</summary>
    public IReadOnlyList<string> Logs => _logs.Snapshot();

    /// <summary>The virtual now, which the proxy's clock reads too.</summary>
    public DateTimeOffset Now => _scheduler.Now;

    /// <summary>
    /// Waits for the next log line containing <paramref name="text"/>, after the one the previous call returned
    /// (the lines are logged when things end: a connection's <c>conn ... result=</c> once both sides have stopped).
    /// </summary>
    public string ExpectLog(string text)
    {
        var timeout = _kit.RemainingOrDefault;
        return _logs.WaitFor(l => l.Contains(text, StringComparison.Ordinal), ref _logCursor, timeout)
            ?? throw new XunitException($"no log line containing \"{text}\" within {timeout.TotalSeconds:0.#}s; the last lines:\n"
                + string.Join("\n", Logs.TakeLast(10)));
    }

    /// <summary>
    /// A client connects to <paramref name="listen"/> (one of the config's listen addresses, e.g. <c>0.0.0.0:443</c>) from
    /// <paramref name="from"/> (default: 203.0.113.1 and a new port each time); returns once the proxy has taken it.
    /// </summary>
    public SimulatedClient Accept(string listen, string? from = null)
    {
        var local = IPEndPoint.Parse(listen);
        if (!_listening.TryGetValue(local, out var listener))
            throw new XunitException($"the proxy does not listen on {local} (it listens on: {string.Join(", ", _listening.Keys.Order(EndpointOrder.Instance))})");
        var n = Interlocked.Increment(ref _clients);
        var remote = from is null ? new IPEndPoint(IPAddress.Parse("203.0.113.1"), 40000 + n) : IPEndPoint.Parse(from);
        var client = new SimulatedClient(_kit.CreateTestProbe($"client-{n}"), listener, remote, local);
        lock (_sockets) _sockets.Add(client);
        return client.Connect(listener);
    }

    /// <summary>
    /// The proxy's next dial (a connection's upstream, or a health check's probe), which must be to
    /// <paramref name="address"/> when given; answer it with <see cref="SimulatedUpstream.Accept"/>, <c>Refuse</c> or <c>Hang</c>.
    /// </summary>
    public SimulatedUpstream ExpectConnect(string? address = null)
    {
        var connect = _dials.ExpectMsg<Tcp.Connect>(hint: address is null ? "a dial" : $"a dial to {address}");
        if (address is not null && !connect.RemoteAddress.Equals(IPEndPoint.Parse(address)))
            throw new XunitException($"expected a dial to {address}, the proxy dialled {connect.RemoteAddress}");
        var n = Interlocked.Increment(ref _upstreams);
        var upstream = new SimulatedUpstream(_dials, _dials.LastSender, connect, _kit.CreateTestProbe($"upstream-{n}"));
        lock (_sockets) _sockets.Add(upstream);
        return upstream;
    }

    /// <summary>
    /// Fails if any simulated socket was left open by an actor that died without closing it (Akka.IO's watch
    /// does not cover an actor that dialled and registered itself: see <see cref="SimulatedConnection"/>).
    /// Sockets still served by a live actor are not leaks. <see cref="Dispose"/> runs this, so a test that
    /// disposes its simulation (<c>using var sim = ...</c>) checks it by default.
    /// </summary>
    public void ExpectNoLeakedSockets()
    {
        SimulatedConnection[] sockets;
        lock (_sockets) sockets = [.. _sockets];
        var leaks = sockets.Select(s => s.CheckLeak(TimeSpan.FromMilliseconds(200))).OfType<string>().ToList();
        if (leaks.Count > 0)
            throw new XunitException($"{leaks.Count} simulated socket(s) left open with no owner:\n" + string.Join("\n", leaks));
    }

    /// <summary>Checks <see cref="ExpectNoLeakedSockets"/>, once.</summary>
    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        ExpectNoLeakedSockets();
    }

    private bool _disposed;
    private readonly List<SimulatedConnection> _sockets = [];

    /// <summary>
    /// Advances virtual time by <paramref name="by"/>: the timers due by then fire in time order (timeouts, DNS
    /// intervals, health checks), each handled by its actor before the next, with the proxy's clock at its time.
    /// What a timer's actor sends on (a close to a socket) is there to expect when this returns; what comes back
    /// later from outside the actors (a DNS answer) is not: wait for it (<see cref="ExpectAddresses"/>).
    /// </summary>
    public void Advance(TimeSpan by) => _scheduler.Advance(by, Settle);

    private long _settled;

    /// <summary>Waits until <paramref name="actor"/> has handled the messages it had (an Identify is answered in mailbox order).</summary>
    private void Settle(IActorRef actor)
    {
        var id = Interlocked.Increment(ref _settled);
        actor.Tell(new Identify(id), _settle.Ref);
        _settle.FishForMessage(m => m is ActorIdentity { MessageId: long got } && got == id, hint: $"{actor.Path} to handle its timer");
    }

    /// <summary>
    /// Waits until new connections of <paramref name="upstream"/> go to exactly <paramref name="addresses"/> (ip:port), as
    /// the current router knows them; after a DNS change, the next connection follows once this returns.
    /// </summary>
    public void ExpectAddresses(string upstream, params string[] addresses)
    {
        var expected = addresses.Select(IPEndPoint.Parse).Order(EndpointOrder.Instance).ToArray();
        IPEndPoint[] Current() => _services.Status.Current is { } g ? [.. g.Backends.Endpoints(upstream).Order(EndpointOrder.Instance)] : [];
        _kit.AwaitCondition(() => Current().SequenceEqual(expected), _kit.RemainingOrDefault,
            $"upstream {upstream} to be at {string.Join(", ", expected.AsEnumerable())}; it is at {string.Join(", ", Current().AsEnumerable())}");
    }

    /// <summary>
    /// Reloads <paramref name="yaml"/> as SIGHUP does: once its DNS is known, kept addresses take the new config for new
    /// connections, new ones are bound, removed ones drain; connections in flight keep theirs. Returns the outcome
    /// (<c>ok</c>, or <c>bind_failed</c> with the problems). An invalid config throws <see cref="ConfigException"/>, as <c>--check</c> would refuse it.
    /// </summary>
    public ProxyRoot.Reloaded Reload(string yaml)
    {
        var config = ConfigLoader.Parse(yaml, "simulation.yaml", _environment);
        _control.Send(Root, new ProxyRoot.Reload(config));
        return _control.ExpectMsg<ProxyRoot.Reloaded>();
    }

    /// <summary>The next bind of <paramref name="address"/> (by a reload) fails as "address already in use".</summary>
    public void FailBind(string address) => _failBinds[IPEndPoint.Parse(address)] = "in use";

    /// <summary>Starts the drain SIGTERM starts: listeners stay bound but close new clients; each unbinds once its connections have ended.</summary>
    public void Drain() => _control.Send(Root, ProxyRoot.Drain.Instance);

    /// <summary>Waits until the drain is over: every listener unbound, every connection ended.</summary>
    public void ExpectDrained() => _control.ExpectMsg<ProxyRoot.Drained>();

    private static LogLevel Level(LogSetting s) => s.ToLogLevel();

    private sealed class EndpointOrder : IComparer<IPEndPoint>
    {
        public static readonly EndpointOrder Instance = new();

        public int Compare(IPEndPoint? x, IPEndPoint? y) => string.CompareOrdinal(x?.ToString(), y?.ToString());
    }
}
