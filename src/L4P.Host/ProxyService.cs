using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Hosting;
using L4P.Config;
using L4P.Connections;
using L4P.Metrics;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace L4P.Host;

/// <summary>
/// Ties the proxy's lifetime to the host: start waits until every listen address is bound (a bind
/// failure fails the start); SIGHUP re-reads the config file and applies it if valid; stop lets the
/// relays in flight finish within <c>shutdown_timeout</c> before Akka shuts down.
/// </summary>
public sealed class ProxyService(IRequiredActor<ProxyRoot> root, ProxyConfig config, ProxyMetrics metrics, ILogger<ProxyService> log)
    : IHostedService, IDisposable
{
    private ProxyConfig _config = config;
    private PosixSignalRegistration? _sighup;
    private readonly SemaphoreSlim _reloading = new(1, 1);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var proxy = await root.GetAsync(cancellationToken);
        var answer = await proxy.Ask<object>(ProxyRoot.WaitReady.Instance, TimeSpan.FromSeconds(60), cancellationToken);
        if (answer is ProxyRoot.BindFailed f)
            throw new BindFailedException($"cannot listen on {f.Address} (servers.{f.Server}.listen): {f.Reason}");
        _sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
        {
            ctx.Cancel = true; // SIGHUP means reload, not exit
            _ = ReloadAsync();
        });
        log.LogInformation("L4P {Version} started with {File}: {Servers} server(s)", Program.Version, _config.SourcePath, _config.Servers.Length);
    }

    /// <summary>Re-reads the same file; an invalid one is refused with the same one line as at start and the old config keeps running.</summary>
    public async Task ReloadAsync()
    {
        await _reloading.WaitAsync();
        try
        {
            ProxyConfig next;
            try
            {
                next = ConfigLoader.LoadFile(_config.SourcePath);
            }
            catch (ConfigException e)
            {
                metrics.ConfigReloads.WithLabels("invalid").Inc();
                log.LogError("reload refused, the running config stays: config error: {Error}", e.Message);
                return;
            }
            var proxy = await root.GetAsync();
            var result = await proxy.Ask<ProxyRoot.Reloaded>(new ProxyRoot.Reload(next), TimeSpan.FromSeconds(60));
            metrics.ConfigReloads.WithLabels(result.Result).Inc();
            if (result.Result == "ok")
            {
                _config = next;
                log.LogInformation("reloaded {File}: {Servers} server(s)", next.SourcePath, next.Servers.Length);
            }
            else
            {
                if (result.Result == "bind_failed") _config = next;
                log.LogError("reload {Result}: {Problems}", result.Result, string.Join("; ", result.Problems));
            }
        }
        catch (Exception e) when (e is AskTimeoutException or TaskCanceledException)
        {
            metrics.ConfigReloads.WithLabels("timeout").Inc();
            log.LogError("reload timed out: {Error}", e.Message);
        }
        finally
        {
            _reloading.Release();
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _sighup?.Dispose();
        var proxy = await root.GetAsync(cancellationToken);
        var timeout = _config.ShutdownTimeout;
        log.LogInformation("shutting down: no new connections, waiting up to {Timeout} for relays in flight", Durations.Format(timeout));
        try
        {
            await proxy.Ask<ProxyRoot.Drained>(ProxyRoot.Drain.Instance, timeout, cancellationToken);
            log.LogInformation("all connections finished");
        }
        catch (AskTimeoutException)
        {
            log.LogWarning("shutdown_timeout {Timeout} reached: closing the connections still open", Durations.Format(timeout));
        }
    }

    public void Dispose()
    {
        _sighup?.Dispose();
        _reloading.Dispose();
    }
}

public sealed class BindFailedException(string message) : Exception(message);
