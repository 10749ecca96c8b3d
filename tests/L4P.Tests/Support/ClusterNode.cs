using Akka.Actor;
using Akka.Configuration;
using Akka.IO;
using L4P.Cluster;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Metrics;
using L4P.Proxy;
using L4P.Testing;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace L4P.Tests.Support;

/// <summary>
/// One L4P cluster node inside the test process: the proxy's ActorSystem (the host's HOCON, no remoting)
/// with the real proxy on loopback sockets and scripted DNS, and the fleet (<see cref="FleetNode.Join"/>),
/// which runs in an ActorSystem of its own with remoting on a loopback port and joins the seed node.
/// Several of these in one test form a fleet.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly ILoggerFactory _logs;
    private readonly IActorRef _root;

    /// <summary>The proxy's ActorSystem (the fleet has its own).</summary>
    public ActorSystem System { get; }
    public ProxyServices Services { get; }
    public ProxyConfig Config { get; }
    public ScriptedDns Dns { get; }
    public CapturingLoggerProvider Logs { get; }
    public string Address => Config.Cluster.SelfAddress;
    public FleetView Fleet => Services.Fleet!;

    /// <summary>The current generation's registry (what new connections use).</summary>
    public BackendRegistry Backends => Services.Status.Current!.Backends;

    private ClusterNode(ActorSystem system, IActorRef root, ProxyServices services, ProxyConfig config, ScriptedDns dns, CapturingLoggerProvider logs, ILoggerFactory factory)
    {
        System = system;
        _root = root;
        Services = services;
        Config = config;
        Dns = dns;
        Logs = logs;
        _logs = factory;
    }

    /// <summary>Akka settings of a node's proxy system: the executable's, no remoting.</summary>
    public static Akka.Configuration.Config Hocon() => L4P.Host.Hocon.Load();

    /// <summary>The fleet system's timings: faster than the defaults so a test's fleet forms and converges in a few seconds.</summary>
    public static readonly Akka.Configuration.Config FleetHocon = ConfigurationFactory.ParseString("""
        akka.cluster {
          gossip-interval = 200ms
          leader-actions-interval = 200ms
          pub-sub.gossip-interval = 200ms
          distributed-data.gossip-interval = 500ms
        }
        """);

    /// <summary>
    /// Starts the proxy on <paramref name="system"/> and its fleet on 127.0.0.1:<paramref name="fleetPort"/>,
    /// which joins the node at <paramref name="seedPort"/> (itself for the first node).
    /// </summary>
    public static async Task<ClusterNode> StartAsync(ActorSystem system, string yaml, ScriptedDns dns, int fleetPort, int seedPort, ITestOutputHelper? output = null, string name = "")
    {
        var parsed = ConfigLoader.Parse(yaml, $"{name}.yaml", _ => null);
        var config = parsed with
        {
            Cluster = parsed.Cluster with { Enabled = true, Hostname = "127.0.0.1", Port = fleetPort, SeedNodes = [$"akka.tcp://{ClusterConfig.SystemName}@127.0.0.1:{seedPort}"] },
        };
        var capture = new CapturingLoggerProvider(output is null ? null : line => output.WriteLine($"[{name}] {line}"));
        var factory = LoggerFactory.Create(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Debug));
        var services = FleetNode.Join(config, new ProxyServices(system.Tcp(), dns, factory, new ProxyMetrics(processMetrics: false)),
            FleetHocon.WithFallback(system.Settings.Config));
        var root = system.ActorOf(ProxyRoot.Props(config, services), "proxy");
        var answer = await root.Ask<object>(ProxyRoot.WaitReady.Instance, TimeSpan.FromSeconds(10));
        if (answer is ProxyRoot.BindFailed f) throw new InvalidOperationException($"{name}: bind failed: {f.Address}: {f.Reason}");
        return new ClusterNode(system, root, services, config, dns, capture, factory);
    }

    /// <summary>Leaves the cluster for good, as a stopping host does (the proxy keeps running).</summary>
    public Task LeaveAsync() =>
        new ActorSelection(_root, FleetNode.ActorName).Ask<FleetHost.Left>(FleetHost.Leave.Instance, TimeSpan.FromSeconds(20));

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        _logs.Dispose();
    }
}
