using System.Net;
using DnsClient;
using DnsClient.Protocol;
using L4P.Config;

namespace L4P.Resolution;

/// <summary>
/// Queries the configured nameservers directly (DnsClient), A and/or AAAA by the upstream's scheme,
/// and reports the smallest record TTL so the resolver can follow it.
/// </summary>
public sealed class NameserverDnsLookup(ResolverConfig config) : IDnsLookup
{
    private static readonly TimeSpan MaxAttemptTimeout = TimeSpan.FromMilliseconds(int.MaxValue);

    private readonly LookupClient _client = new(new LookupClientOptions(config.Nameservers.ToArray())
    {
        UseCache = false,
        // DnsClient's per-attempt timeout stops at int.MaxValue ms (~24.8 days); the Resolver's own
        // cancellation enforces resolver.timeout (up to Durations.Max) over the attempts.
        Timeout = config.Timeout < MaxAttemptTimeout ? config.Timeout : MaxAttemptTimeout,
        Retries = 1,
        ThrowDnsErrors = true,
        UseTcpFallback = true,
    });

    public async Task<DnsAnswer> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel)
    {
        var queries = new List<Task<IDnsQueryResponse>>(2);
        if (family != AddressFamilyFilter.IPv6) queries.Add(_client.QueryAsync(host, QueryType.A, QueryClass.IN, cancel));
        if (family != AddressFamilyFilter.IPv4) queries.Add(_client.QueryAsync(host, QueryType.AAAA, QueryClass.IN, cancel));
        var responses = await Task.WhenAll(queries).ConfigureAwait(false);
        var records = responses.SelectMany(r => r.Answers).OfType<AddressRecord>().ToList();
        if (records.Count == 0) throw new DnsResponseException($"{host}: no {(family == AddressFamilyFilter.IPv4 ? "A" : family == AddressFamilyFilter.IPv6 ? "AAAA" : "A or AAAA")} record");
        IPAddress[] addresses = [.. records.Select(r => r.Address).Distinct()];
        return new DnsAnswer(addresses, TimeSpan.FromSeconds(records.Min(r => r.TimeToLive)));
    }
}
