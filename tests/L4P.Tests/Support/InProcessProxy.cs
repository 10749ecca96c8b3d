using System.Net;
using Akka.Actor;
using Akka.Hosting;
using L4P.Config;
using L4P.Hosting;
using L4P.Metrics;
using L4P.Resolution;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace L4P.Tests.Support;

/// <summary>
/// The real proxy (ProxyRoot, listeners, Akka.IO sockets, the executable's HOCON) in the test process,
/// on loopback, started from a YAML string through the public hosting API (<c>AddL4P</c> +
/// <c>WithL4P</c>), as any application would. Faster than a child process; the executable's own
/// behaviour (CLI, signals, exit codes) is tested with <see cref="HostProcess"/>.
/// </summary>
public sealed class InProcessProxy : IAsyncDisposable
{
    private readonly IHost _host;

    public ProxyConfig Config { get; }
    public ActorSystem System { get; }
    public IActorRef Root { get; }
    public L4PProxy Proxy { get; }
    public CapturingLoggerProvider Logs { get; }
    public ProxyMetrics Metrics { get; }

    private InProcessProxy(IHost host, ProxyConfig config, IActorRef root, CapturingLoggerProvider logs)
    {
        _host = host;
        Config = config;
        Root = root;
        Logs = logs;
        System = host.Services.GetRequiredService<ActorSystem>();
        Proxy = host.Services.GetRequiredService<L4PProxy>();
        Metrics = host.Services.GetRequiredService<ProxyMetrics>();
    }

    public static async Task<InProcessProxy> StartAsync(string yaml, ITestOutputHelper? output = null,
        Func<string, string?>? env = null, IDnsLookup? dns = null)
    {
        var config = ConfigLoader.Parse(yaml, "test.yaml", env ?? (_ => null));
        var capture = new CapturingLoggerProvider(output is null ? null : output.WriteLine);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Logging.ClearProviders().AddProvider(capture).SetMinimumLevel(LogLevel.Debug);
        builder.Services.AddSingleton(new ProxyMetrics(processMetrics: false));
        builder.Services.AddL4P(config);
        builder.Services.AddAkka("l4p-test", (akka, _) =>
        {
            akka.AddHocon(L4P.Host.Hocon.Load(), HoconAddMode.Prepend);
            akka.WithL4P(config, o =>
            {
                if (dns is not null) o.Dns = dns;
            });
        });
        var host = builder.Build();
        try
        {
            await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (ProxyStartException e)
        {
            host.Dispose();
            throw new InvalidOperationException($"bind failed: {e.Message}");
        }
        var root = await host.Services.GetRequiredService<L4PProxy>().RootAsync();
        return new InProcessProxy(host, config, root, capture);
    }
    public IPEndPoint Listen(string server, int index = 0) => Config.Servers.Single(s => s.Name == server).Listen[index];

    /// <summary>
    /// Waits until <paramref name="server"/> holds no connection (its maxclients slots are free): a connection's
    /// line is logged as it ends, just before its listener hears that it has stopped and frees the slot.
    /// </summary>
    public async Task WaitIdleAsync(string server, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        double Active() => Config.Servers.Single(s => s.Name == server).Listen.Sum(ep => Metrics.ActiveConnections.WithLabels(server, ep.ToString()).Value);
        while (Active() > 0)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"server {server} still has {Active()} connection(s) open");
            await Task.Delay(20);
        }
    }

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
        // Not a graceful stop: a test's leftovers need no drain.
        await System.Terminate();
        _host.Dispose();
    }
}
