using System.Collections.Concurrent;
using System.Net;
using L4P.Config;
using L4P.Resolution;

namespace L4P.Testing;

/// <summary>
/// A DNS whose answers the test sets, in place of the system resolver or nameservers: the proxy's
/// Resolver asks it at start and every <c>resolver.interval</c>, so a test decides what each name
/// resolves to and when that changes (or fails), without a DNS server. A name never answered fails
/// like NXDOMAIN. Counts lookups per name. Safe to change from the test while the proxy runs.
/// </summary>
public sealed class ScriptedDns : IDnsLookup
{
    private readonly ConcurrentDictionary<string, Func<DnsAnswer>> _answers = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();

    /// <summary>From now on <paramref name="host"/> resolves to <paramref name="addresses"/> (IP literals), without a TTL.</summary>
    public ScriptedDns Answer(string host, params string[] addresses)
    {
        _answers[host] = () => new DnsAnswer([.. addresses.Select(IPAddress.Parse)], null);
        return this;
    }

    /// <summary>As <see cref="Answer"/>, with a record TTL (followed with <c>resolver.respect_ttl</c>).</summary>
    public ScriptedDns AnswerWithTtl(string host, TimeSpan ttl, params string[] addresses)
    {
        _answers[host] = () => new DnsAnswer([.. addresses.Select(IPAddress.Parse)], ttl);
        return this;
    }

    /// <summary>From now on lookups of <paramref name="host"/> fail with <paramref name="reason"/>.</summary>
    public ScriptedDns Fail(string host, string reason = "SERVFAIL")
    {
        _answers[host] = () => throw new InvalidOperationException(reason);
        return this;
    }

    /// <summary>From now on lookups of <paramref name="host"/> never answer, and ignore their cancellation (a lookup stuck for good): only the resolver's own deadline ends them.</summary>
    public ScriptedDns Hang(string host)
    {
        _answers[host] = () => throw new HangException();
        return this;
    }

    private sealed class HangException : Exception;

    /// <summary>How many times <paramref name="host"/> was looked up.</summary>
    public int Calls(string host) => _calls.GetValueOrDefault(host);

    public Task<DnsAnswer> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel)
    {
        _calls.AddOrUpdate(host, 1, (_, n) => n + 1);
        try
        {
            return Task.FromResult(_answers.TryGetValue(host, out var a) ? a() : throw new InvalidOperationException("NXDOMAIN"));
        }
        catch (HangException)
        {
            return new TaskCompletionSource<DnsAnswer>().Task;
        }
        catch (InvalidOperationException e)
        {
            return Task.FromException<DnsAnswer>(e);
        }
    }
}
