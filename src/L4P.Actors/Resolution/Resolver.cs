using System.Collections.Immutable;
using System.Net;
using Akka.Actor;
using L4P.Config;
using L4P.Metrics;
using Microsoft.Extensions.Logging;

namespace L4P.Resolution;

/// <summary>
/// Resolves every upstream host name at start and again every <c>resolver.interval</c> (or the record's
/// TTL, clamped, with <c>respect_ttl</c>): one timer per distinct (host, family), however many upstreams
/// share it. A failed lookup keeps the last good addresses and is retried after <c>resolver.retry</c>.
/// Publishes <see cref="BackendsChanged"/> only when the set changes, and tells its parent once every
/// name has had a first answer (good or bad) so the proxy starts with what DNS knows. In cluster mode
/// only the name's owner (<see cref="INameOwnership"/>) repeats the lookups after the first; the others
/// learn the owner's changes from the EventStream (where the fleet relay puts them), which also keeps
/// their last known set current for the day they own the name.
/// </summary>
public sealed class Resolver : ActorBase, IWithTimers
{
    public sealed record InitialRoundDone;

    private sealed record Lookup(BackendKey Key);
    private sealed record Answered(BackendKey Key, int Attempt, DnsAnswer Answer);
    private sealed record Failed(BackendKey Key, int Attempt, string Reason);

    /// <summary>The timer key and message of one lookup's deadline.</summary>
    private sealed record Deadline(BackendKey Key, int Attempt);

    private sealed class State(ImmutableArray<string> upstreams)
    {
        public readonly ImmutableArray<string> Upstreams = upstreams;
        public ImmutableArray<IPAddress>? Last;
        public bool Answered;
        public bool Failing;

        /// <summary>The lookup in flight (0: none); an answer for any other is late and dropped.</summary>
        public int Attempt;
        public int Attempts;
    }

    private readonly ResolverConfig _config;
    private readonly IDnsLookup _dns;
    private readonly IBackendsPublisher _publisher;
    private readonly ILogger _log;
    private readonly Dictionary<BackendKey, State> _names;
    private bool _initialDone;

    private readonly ProxyMetrics _metrics;
    private readonly INameOwnership _ownership;

    public Resolver(ProxyConfig config, IDnsLookup dns, IBackendsPublisher publisher, ILogger log, ProxyMetrics metrics, INameOwnership? ownership = null)
    {
        _ownership = ownership ?? INameOwnership.All;
        _metrics = metrics;
        _config = config.Resolver;
        _dns = dns;
        _publisher = publisher;
        _log = log;
        _names = config.Upstreams.Values.OfType<TcpUpstreamConfig>()
            .SelectMany(u => u.Targets.Where(t => t.Literal is null).Select(t => (Upstream: u.Name, Key: new BackendKey(t.Host.TrimEnd('.'), t.Family))))
            .GroupBy(x => x.Key)
            .ToDictionary(g => g.Key, g => new State([.. g.Select(x => x.Upstream).Distinct().Order(StringComparer.Ordinal)]));
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ProxyConfig config, IDnsLookup dns, IBackendsPublisher publisher, ILogger log, ProxyMetrics metrics,
        INameOwnership? ownership = null) =>
        Akka.Actor.Props.Create(() => new Resolver(config, dns, publisher, log, metrics, ownership));

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(BackendsChanged));
        foreach (var key in _names.Keys) Self.Tell(new Lookup(key));
        ReportInitialIfDone();
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Lookup l when _names[l.Key].Answered && !_ownership.Owns(l.Key):
                // Another node keeps this name fresh; check again next interval (it may be ours by then).
                Schedule(l.Key, _config.Interval);
                return true;
            case BackendsChanged c when _names.TryGetValue(c.Key, out var known):
                // Ours coming back, or the owner's change: either way the set the fleet now uses.
                if (known.Last is not { } last || !last.SequenceEqual(c.Addresses))
                {
                    known.Last = c.Addresses;
                    foreach (var upstream in known.Upstreams) _metrics.UpstreamAddresses.WithLabels(upstream).Set(c.Addresses.Length);
                }
                return true;
            case BackendsChanged:
                return true;
            case Lookup l:
                StartLookup(l.Key);
                return true;
            case Answered a when TakeCurrent(a.Key, a.Attempt):
                OnAnswer(a.Key, a.Answer);
                return true;
            case Failed f when TakeCurrent(f.Key, f.Attempt):
                OnFailure(f.Key, f.Reason);
                return true;
            case Deadline d when TakeCurrent(d.Key, d.Attempt):
                // Ours, not the lookup's: a lookup that ignores its token would otherwise never answer,
                // and its name would never be looked up again.
                OnFailure(d.Key, $"timeout after {Durations.Format(_config.Timeout)}");
                return true;
            case Answered or Failed or Deadline:
                return true; // a lookup that answered after its deadline: its name has moved on
            default:
                return false;
        }
    }

    private void StartLookup(BackendKey key)
    {
        var state = _names[key];
        var attempt = state.Attempt = ++state.Attempts;
        Timers.StartSingleTimer(new Deadline(key, 0), new Deadline(key, attempt), _config.Timeout);
        var self = Self;
        var cts = new CancellationTokenSource(_config.Timeout);
        _dns.ResolveAsync(key.Host, key.Family, cts.Token).ContinueWith(t =>
        {
            cts.Dispose();
            return t.IsCompletedSuccessfully
                ? (object)new Answered(key, attempt, t.Result)
                : new Failed(key, attempt, t.IsCanceled ? $"timeout after {Durations.Format(_config.Timeout)}" : t.Exception!.GetBaseException().Message);
        }, TaskScheduler.Default).PipeTo(self);
    }

    /// <summary>Whether <paramref name="attempt"/> is the lookup of <paramref name="key"/> still waited for; if so it is waited for no more.</summary>
    private bool TakeCurrent(BackendKey key, int attempt)
    {
        var state = _names[key];
        if (state.Attempt != attempt) return false;
        state.Attempt = 0;
        Timers.Cancel(new Deadline(key, 0));
        return true;
    }

    private void OnAnswer(BackendKey key, DnsAnswer answer)
    {
        var state = _names[key];
        var addresses = SystemDnsLookup.Filter(answer.Addresses, key.Family);
        if (addresses.Length == 0)
        {
            OnFailure(key, "no address of the wanted family");
            return;
        }
        ImmutableArray<IPAddress> set = [.. addresses.Distinct().OrderBy(a => a.ToString(), StringComparer.Ordinal)];
        if (state.Failing) Log.Recovered(_log, key.ToString());
        state.Failing = false;
        if (state.Last is not { } last || !last.SequenceEqual(set))
        {
            foreach (var upstream in state.Upstreams)
            {
                Log.Changed(_log, upstream, state.Last is { } old ? Join(old) : "(none)", Join(set));
                _metrics.UpstreamAddresses.WithLabels(upstream).Set(set.Length);
            }
            state.Last = set;
            _publisher.Publish(new BackendsChanged(key, set));
        }
        Schedule(key, NextInterval(answer.Ttl));
        Count(state, "ok"); // after scheduling: a test that sees the count knows the next lookup is set
        MarkAnswered(state);
    }

    private void OnFailure(BackendKey key, string reason)
    {
        var state = _names[key];
        if (!state.Failing)
            Log.LookupFailed(_log, string.Join(", ", state.Upstreams), key.ToString(), reason,
                state.Last is { } last ? $"keeping {Join(last)}" : "no address yet: connections to it fail until it resolves",
                Durations.Format(_config.Retry));
        state.Failing = true;
        Schedule(key, _config.Retry);
        Count(state, "failed");
        MarkAnswered(state);
    }

    private void Count(State state, string result)
    {
        foreach (var upstream in state.Upstreams) _metrics.DnsResolutions.WithLabels(upstream, result).Inc();
    }

    private TimeSpan NextInterval(TimeSpan? ttl)
    {
        if (!_config.RespectTtl || ttl is not { } t) return _config.Interval;
        return t < _config.MinTtl ? _config.MinTtl : t > _config.Interval ? _config.Interval : t;
    }

    private void Schedule(BackendKey key, TimeSpan after) => Timers.StartSingleTimer(key, new Lookup(key), after);

    private void MarkAnswered(State state)
    {
        state.Answered = true;
        ReportInitialIfDone();
    }

    private void ReportInitialIfDone()
    {
        if (_initialDone || _names.Values.Any(s => !s.Answered)) return;
        _initialDone = true;
        Context.Parent.Tell(new InitialRoundDone());
    }

    private static string Join(ImmutableArray<IPAddress> set) => string.Join(", ", set);
}
