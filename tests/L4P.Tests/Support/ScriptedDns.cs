using System.Collections.Concurrent;
using System.Net;
using L4P.Config;
using L4P.Resolution;

namespace L4P.Tests.Support;

/// <summary>A DNS whose answers the test sets; counts lookups per name.</summary>
public sealed class ScriptedDns : IDnsLookup
{
    private readonly ConcurrentDictionary<string, Func<DnsAnswer>> _answers = new();
    private readonly ConcurrentDictionary<string, int> _calls = new();

    public void Answer(string host, params string[] addresses) =>
        _answers[host] = () => new DnsAnswer([.. addresses.Select(IPAddress.Parse)], null);

    public void AnswerWithTtl(string host, TimeSpan ttl, params string[] addresses) =>
        _answers[host] = () => new DnsAnswer([.. addresses.Select(IPAddress.Parse)], ttl);

    public void Fail(string host, string reason = "SERVFAIL") =>
        _answers[host] = () => throw new InvalidOperationException(reason);

    public int Calls(string host) => _calls.GetValueOrDefault(host);

    public Task<DnsAnswer> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel)
    {
        _calls.AddOrUpdate(host, 1, (_, n) => n + 1);
        try
        {
            return Task.FromResult(_answers.TryGetValue(host, out var a) ? a() : throw new InvalidOperationException("NXDOMAIN"));
        }
        catch (InvalidOperationException e)
        {
            return Task.FromException<DnsAnswer>(e);
        }
    }
}
