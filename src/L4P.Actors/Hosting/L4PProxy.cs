using Akka.Actor;
using Akka.Hosting;
using L4P.Config;
using L4P.Metrics;
using L4P.Proxy;
using Microsoft.Extensions.Logging;

namespace L4P.Hosting;

/// <summary>
/// The proxy as the host's code sees it (registered by <see cref="L4PServiceCollectionExtensions.AddL4P"/>):
/// wait until it listens, reload a config, drain, ask its state. Reloads are one at a time; each is
/// logged and counted in <c>l4p_config_reloads_total</c> with its outcome's label.
/// </summary>
public sealed class L4PProxy(IRequiredActor<ProxyRoot> root, ProxyConfig config, ProxyMetrics metrics, ILogger<L4PProxy> log) : IDisposable
{
    /// <summary>A backstop only: the root abandons a reload itself at <see cref="ProxyRoot.ReloadDeadline"/> and answers.</summary>
    private static readonly TimeSpan ReloadTimeout = ProxyRoot.ReloadDeadline + TimeSpan.FromSeconds(15);
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private ProxyConfig _current = config;
    private readonly bool _clustered = config.Cluster.Enabled; // the cluster: section applies at start only

    /// <summary>The config new connections use (the last one applied, or applied with bind failures).</summary>
    public ProxyConfig Current => Volatile.Read(ref _current);

    /// <summary>The proxy's root actor, once the actor system has started it.</summary>
    public Task<IActorRef> RootAsync(CancellationToken cancel = default) => root.GetAsync(cancel);

    /// <summary>Waits until every listen address is bound.</summary>
    /// <exception cref="BindFailedException">An address could not be bound; the message names it.</exception>
    public async Task<ProxyRoot.Ready> WaitReadyAsync(TimeSpan timeout, CancellationToken cancel = default)
    {
        var proxy = await RootAsync(cancel);
        return await proxy.Ask<object>(ProxyRoot.WaitReady.Instance, timeout, cancel) switch
        {
            ProxyRoot.BindFailed f => throw new BindFailedException($"cannot listen on {f.Address} (servers.{f.Server}.listen): {f.Reason}"),
            ProxyRoot.StartFailed f => throw new ProxyStartException(f.Reason),
            var ready => (ProxyRoot.Ready)ready,
        };
    }

    /// <summary>Applies <paramref name="next"/>: new connections use it, live ones keep theirs, removed addresses drain.</summary>
    public async Task<ProxyRoot.Reloaded> ReloadAsync(ProxyConfig next, CancellationToken cancel = default)
    {
        await _reloading.WaitAsync(cancel);
        try
        {
            var proxy = await RootAsync(cancel);
            ProxyRoot.Reloaded result;
            try
            {
                result = await proxy.Ask<ProxyRoot.Reloaded>(new ProxyRoot.Reload(next), ReloadTimeout, cancel);
            }
            catch (AskTimeoutException e)
            {
                result = new ProxyRoot.Reloaded(ReloadOutcome.Timeout, [e.Message]);
            }
            if (result.Outcome is ReloadOutcome.Applied or ReloadOutcome.BindFailed) Volatile.Write(ref _current, next);
            return Record(result, next);
        }
        finally
        {
            _reloading.Release();
        }
    }

    /// <summary>Re-reads <paramref name="path"/> and applies it; an invalid file is refused with the same one line as at start.</summary>
    public Task<ProxyRoot.Reloaded> ReloadFileAsync(string path, CancellationToken cancel = default)
    {
        ProxyConfig next;
        try
        {
            next = ConfigLoader.LoadFile(path);
        }
        catch (ConfigException e)
        {
            return Task.FromResult(Record(new ProxyRoot.Reloaded(ReloadOutcome.Invalid, [e.Message]), null));
        }
        return ReloadAsync(next, cancel);
    }

    /// <summary>
    /// Stops taking connections and waits up to <paramref name="timeout"/> for the open ones to end; false when
    /// some were still open, which are then closed (reset) before this returns, so none is left to the actor
    /// system's own stop.
    /// </summary>
    public async Task<bool> DrainAsync(TimeSpan timeout, CancellationToken cancel = default)
    {
        var proxy = await RootAsync(cancel);
        try
        {
            await proxy.Ask<ProxyRoot.Drained>(ProxyRoot.Drain.Instance, timeout, cancel);
            return true;
        }
        catch (AskTimeoutException)
        {
            proxy.Tell(ProxyRoot.CloseAll.Instance);
            try
            {
                await proxy.Ask<ProxyRoot.Drained>(ProxyRoot.Drain.Instance, CloseAllTimeout, cancel);
            }
            catch (AskTimeoutException)
            {
                log.LogWarning("connections still open {Timeout} after they were told to close", Durations.Format(CloseAllTimeout));
            }
            return false;
        }
    }

    /// <summary>How long the connections told to close at the end of a drain get to do it.</summary>
    private static readonly TimeSpan CloseAllTimeout = TimeSpan.FromSeconds(5);
    /// <summary>
    /// Cluster mode: leaves the cluster gracefully (the fleet's ActorSystem runs Akka's leave and stops) and
    /// does not rejoin; false when that took longer than <paramref name="timeout"/>. Standalone: nothing to leave, true.
    /// </summary>
    public async Task<bool> LeaveClusterAsync(TimeSpan timeout, CancellationToken cancel = default)
    {
        if (!_clustered) return true;
        // The registered actor is the ProxyGuardian; the fleet is a child of the root below it.
        var fleet = new ActorSelection(await RootAsync(cancel), $"{ProxyGuardian.RootName}/{Cluster.FleetNode.ActorName}");
        try
        {
            await fleet.Ask<Cluster.FleetHost.Left>(Cluster.FleetHost.Leave.Instance, timeout, cancel);
            return true;
        }
        catch (AskTimeoutException)
        {
            return false;
        }
    }

    /// <summary>The proxy's servers, open connections and current upstream addresses.</summary>
    public async Task<ProxyRoot.State> GetStateAsync(CancellationToken cancel = default) =>
        await (await RootAsync(cancel)).Ask<ProxyRoot.State>(ProxyRoot.GetState.Instance, TimeSpan.FromSeconds(10), cancel);

    private ProxyRoot.Reloaded Record(ProxyRoot.Reloaded result, ProxyConfig? next)
    {
        metrics.ConfigReloads.WithLabels(result.Result).Inc();
        switch (result.Outcome)
        {
            case ReloadOutcome.Applied:
                log.LogInformation("reloaded {File}: {Servers} server(s)", next!.SourcePath, next.Servers.Length);
                break;
            case ReloadOutcome.Invalid:
                log.LogError("reload refused, the running config stays: config error: {Error}", result.Problems[0]);
                break;
            default:
                log.LogError("reload {Result}: {Problems}", result.Result, string.Join("; ", result.Problems));
                break;
        }
        return result;
    }

    public void Dispose() => _reloading.Dispose();
}

/// <summary>The proxy could not start; the message is the one line to show.</summary>
public class ProxyStartException(string message) : Exception(message);

/// <summary>A listen address could not be bound at start; the message is the one line to show.</summary>
public sealed class BindFailedException(string message) : ProxyStartException(message);
