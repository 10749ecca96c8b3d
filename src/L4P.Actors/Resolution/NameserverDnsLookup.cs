using System.Net;
using DnsClient;
using DnsClient.Protocol;
using L4P.Config;
using Microsoft.Extensions.Logging;

namespace L4P.Resolution;

/// <summary>
/// Queries the configured nameservers directly (DnsClient), A and/or AAAA by the upstream's scheme,
/// and reports the smallest record TTL so the resolver can follow it. With both families (<c>tcp://</c>)
/// one refused or failed query does not sink the other's answer (dnsmasq without upstream servers
/// REFUSES the AAAA query for a name it holds only an A record for): the lookup fails only when
/// neither family answered.
/// </summary>
public sealed class NameserverDnsLookup(ResolverConfig config, ILogger? log = null) : IDnsLookup
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
        var queries = new List<(QueryType Type, Task<IDnsQueryResponse> Query)>(2);
        if (family != AddressFamilyFilter.IPv6) queries.Add((QueryType.A, _client.QueryAsync(host, QueryType.A, QueryClass.IN, cancel)));
        if (family != AddressFamilyFilter.IPv4) queries.Add((QueryType.AAAA, _client.QueryAsync(host, QueryType.AAAA, QueryClass.IN, cancel)));
        var records = new List<AddressRecord>();
        var failures = new List<(QueryType Type, Exception Error)>();
        foreach (var (type, query) in queries)
        {
            try
            {
                records.AddRange((await query.ConfigureAwait(false)).Answers.OfType<AddressRecord>());
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                failures.Add((type, e));
            }
        }
        if (failures.Count == queries.Count)
        {
            if (failures.Count == 1) throw failures[0].Error;
            throw new DnsResponseException($"{host}: {string.Join("; ", failures.Select(f => $"{f.Type}: {f.Error.Message}"))}");
        }
        var wanted = family == AddressFamilyFilter.IPv4 ? "A" : family == AddressFamilyFilter.IPv6 ? "AAAA" : "A or AAAA";
        if (records.Count == 0)
            throw new DnsResponseException(failures.Count == 0
                ? $"{host}: no {wanted} record"
                : $"{host}: no {wanted} record ({string.Join("; ", failures.Select(f => $"{f.Type}: {f.Error.Message}"))})");
        if (log is not null)
            foreach (var (type, error) in failures)
                Log.FamilyFailed(log, host, type.ToString(), error.Message);
        IPAddress[] addresses = [.. records.Select(r => r.Address).Distinct()];
        return new DnsAnswer(addresses, TimeSpan.FromSeconds(records.Min(r => r.TimeToLive)));
    }
}
