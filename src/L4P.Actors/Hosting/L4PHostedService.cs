using L4P.Config;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L4P.Hosting;

/// <summary>
/// Ties the proxy to the host's lifetime. Started: waits until every listen address is bound (a bind
/// failure fails the host's start). Stopping: no new connections, and the relays in flight get
/// <c>shutdown_timeout</c> to finish, then (cluster mode) the node leaves the cluster. Both run in the host's lifecycle phases around every service's
/// start and stop, so they come after Akka.Hosting has started the actor system and before it stops it,
/// in whatever order the services were added.
/// </summary>
public sealed class L4PHostedService(L4PProxy proxy, L4PHostOptions options, ILogger<L4PHostedService> log) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StartedAsync(CancellationToken cancellationToken)
    {
        await proxy.WaitReadyAsync(TimeSpan.FromSeconds(60), cancellationToken);
        var config = proxy.Current;
        log.LogInformation("L4P {Version} started with {File}: {Servers} server(s)", options.Version, config.SourcePath, config.Servers.Length);
    }

    public async Task StoppingAsync(CancellationToken cancellationToken)
    {
        var timeout = proxy.Current.ShutdownTimeout;
        log.LogInformation("shutting down: no new connections, waiting up to {Timeout} for relays in flight", Durations.Format(timeout));
        if (await proxy.DrainAsync(timeout, cancellationToken)) log.LogInformation("all connections finished");
        else log.LogWarning("shutdown_timeout {Timeout} reached: closing the connections still open", Durations.Format(timeout));
        // After the drain: while relays run here this node's count still holds its share of cluster-wide limits.
        if (!await proxy.LeaveClusterAsync(LeaveTimeout, cancellationToken))
            log.LogWarning("cluster: leaving took longer than {Timeout}: stopping without the others' acknowledgement", Durations.Format(LeaveTimeout));
    }

    /// <summary>How long a stopping node waits for the cluster to acknowledge its leave (Akka's leave phases take a few seconds).</summary>
    public static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(10);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
