using Akka.Actor;
using Akka.Hosting;
using L4P.Config;
using L4P.Connections;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L4P.Host;

/// <summary>
/// Ties the proxy's lifetime to the host: start waits until every listen address is bound
/// (a bind failure fails the start); stop unbinds and lets the relays in flight finish within
/// <c>shutdown_timeout</c> before Akka shuts down.
/// </summary>
public sealed class ProxyService(IRequiredActor<ProxyRoot> root, ProxyConfig config, ILogger<ProxyService> log) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var proxy = await root.GetAsync(cancellationToken);
        var answer = await proxy.Ask<object>(ProxyRoot.WaitReady.Instance, TimeSpan.FromSeconds(30), cancellationToken);
        if (answer is ProxyRoot.BindFailed f)
            throw new BindFailedException($"cannot listen on {f.Address} (servers.{f.Server}.listen): {f.Reason}");
        log.LogInformation("L4P {Version} started with {File}: {Servers} server(s)", Program.Version, config.SourcePath, config.Servers.Length);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        var proxy = await root.GetAsync(cancellationToken);
        log.LogInformation("shutting down: no new connections, waiting up to {Timeout} for relays in flight", Durations.Format(config.ShutdownTimeout));
        try
        {
            await proxy.Ask<ProxyRoot.Drained>(ProxyRoot.Drain.Instance, config.ShutdownTimeout, cancellationToken);
            log.LogInformation("all connections finished");
        }
        catch (AskTimeoutException)
        {
            log.LogWarning("shutdown_timeout {Timeout} reached: closing the connections still open", Durations.Format(config.ShutdownTimeout));
        }
    }
}

public sealed class BindFailedException(string message) : Exception(message);
