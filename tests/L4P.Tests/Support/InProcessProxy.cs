using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;
using L4P.Connections;
using L4P.Metrics;
using L4P.Resolution;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace L4P.Tests.Support;

/// <summary>
/// The real proxy (ProxyRoot, listeners, Akka.IO sockets, the host's HOCON) in the test process,
/// on loopback, started from a YAML string. Faster than a child process; the host's own behaviour
/// (CLI, signals, exit codes) is tested with <see cref="HostProcess"/>.
/// </summary>
public sealed class InProcessProxy : IAsyncDisposable
{
    private readonly ActorSystem _system;
    private readonly ILoggerFactory _logs;

    public ProxyConfig Config { get; }
    public ActorSystem System => _system;
    public IActorRef Root { get; }
    public CapturingLoggerProvider Logs { get; }
    public ProxyMetrics Metrics { get; private init; } = null!;

    private InProcessProxy(ActorSystem system, ProxyConfig config, IActorRef root, CapturingLoggerProvider logs, ILoggerFactory factory)
    {
        _system = system;
        Config = config;
        Root = root;
        Logs = logs;
        _logs = factory;
    }

    public static async Task<InProcessProxy> StartAsync(string yaml, ITestOutputHelper? output = null,
        Func<string, string?>? env = null, IDnsLookup? dns = null)
    {
        var config = ConfigLoader.Parse(yaml, "test.yaml", env ?? (_ => null));
        var system = ActorSystem.Create("l4p-test", L4P.Host.Hocon.Load());
        var capture = new CapturingLoggerProvider(output is null ? null : output.WriteLine);
        var factory = LoggerFactory.Create(b => b.AddProvider(capture).SetMinimumLevel(LogLevel.Debug));
        var metrics = new ProxyMetrics(processMetrics: false);
        var root = system.ActorOf(ProxyRoot.Props(config, new ProxyServices(system.Tcp(),
            dns ?? (config.Resolver.Nameservers.IsEmpty ? SystemDnsLookup.Instance
                : new NameserverDnsLookup(config.Resolver, factory.CreateLogger("L4P.Resolution"))), factory, metrics)), "proxy");
        var answer = await root.Ask<object>(ProxyRoot.WaitReady.Instance, TimeSpan.FromSeconds(10));
        if (answer is ProxyRoot.BindFailed f)
        {
            await system.Terminate();
            throw new InvalidOperationException($"bind failed: {f.Address}: {f.Reason}");
        }
        return new InProcessProxy(system, config, root, capture, factory) { Metrics = metrics };
    }

    public IPEndPoint Listen(string server, int index = 0) => Config.Servers.Single(s => s.Name == server).Listen[index];

    /// <summary>Waits for a log line matching <paramref name="predicate"/> (connection lines come after the sockets close).</summary>
    public async Task<string> WaitForLogAsync(Func<string, bool> predicate, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (DateTime.UtcNow < deadline)
        {
            var hit = Logs.Lines.FirstOrDefault(predicate);
            if (hit is not null) return hit;
            await Task.Delay(20);
        }
        throw new TimeoutException("no matching log line; got:\n" + string.Join("\n", Logs.Lines));
    }

    public async ValueTask DisposeAsync()
    {
        await _system.Terminate();
        _logs.Dispose();
    }
}
