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
/// One L4P cluster node inside the test process: its own ActorSystem (remoting on a loopback port,
/// the host's HOCON), the fleet actors (<see cref="FleetNode.Join"/>), and the real proxy on loopback
/// sockets, with scripted DNS. Several of these in one test form a fleet.
/// </summary>
public sealed class ClusterNode : IAsyncDisposable
{
    private readonly ILoggerFactory _logs;

    public ActorSystem System { get; }
    public ProxyServices Services { get; }
    public ProxyConfig Config { get; }
    public ScriptedDns Dns { get; }
    public CapturingLoggerProvider Logs { get; }
    public string Address => Akka.Cluster.Cluster.Get(System).SelfAddress.ToString();
    public FleetView Fleet => Services.Fleet!;

    /// <summary>The current generation's registry (what new connections use).</summary>
    public BackendRegistry Backends => Services.Status.Current!.Backends;

    private ClusterNode(ActorSystem system, ProxyServices services, ProxyConfig config, ScriptedDns dns, CapturingLoggerProvider logs, ILoggerFactory factory)
    {
        System = system;
        Services = services;
        Config = config;
        Dns = dns;
        Logs = logs;
        _logs = factory;
    }

    /// <summary>Akka settings of a node listening for cluster traffic on <paramref name="port"/>.</summary>
    public static Akka.Configuration.Config Hocon(int port) => ConfigurationFactory.ParseString($$"""
        akka.actor.provider = cluster
        akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = {{port}} }
        akka.cluster {
          downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
          split-brain-resolver.active-strategy = keep-majority
          # Faster than the defaults so a test's fleet forms and converges in a few seconds.
          gossip-interval = 200ms
          leader-actions-interval = 200ms
          pub-sub.gossip-interval = 200ms
          distributed-data.gossip-interval = 500ms
        }
        """).WithFallback(L4P.Host.Hocon.Load());

    /// <summary>Starts the fleet actors and the proxy on <paramref name="system"/>; the caller joins it to the cluster.</summary>
    public static async Task<ClusterNode> StartAsync(ActorSystem system, string yaml, ScriptedDns dns, ITestOutputHelper? output = null, string name = "")
    {
        var config = ConfigLoader.Parse(yaml, $"{name}.yaml", _ => null);
        var capture = new CapturingLoggerProvider(output is null ? null : line => output.WriteLine($"[{name}] {line}"));
        var factory = LoggerFactory.Create(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Debug));
        var services = FleetNode.Join(system, config, new ProxyServices(system.Tcp(), dns, factory, new ProxyMetrics(processMetrics: false)));
        var root = system.ActorOf(ProxyRoot.Props(config, services), "proxy");
        var answer = await root.Ask<object>(ProxyRoot.WaitReady.Instance, TimeSpan.FromSeconds(10));
        if (answer is ProxyRoot.BindFailed f) throw new InvalidOperationException($"{name}: bind failed: {f.Address}: {f.Reason}");
        return new ClusterNode(system, services, config, dns, capture, factory);
    }

    public async ValueTask DisposeAsync()
    {
        await System.Terminate();
        _logs.Dispose();
    }
}
