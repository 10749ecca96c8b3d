using System.Net;
using System.Net.Sockets;
using L4P.Config;

namespace L4P.Resolution;

/// <summary>What a lookup found; <see cref="Ttl"/> is null when the resolver does not say (the system one).</summary>
public sealed record DnsAnswer(IPAddress[] Addresses, TimeSpan? Ttl);

/// <summary>The DNS seam: tests script answers, production asks the system resolver or given nameservers.</summary>
public interface IDnsLookup
{
    Task<DnsAnswer> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel);
}

/// <summary>The system resolver (so /etc/hosts works), filtered by the upstream's scheme.</summary>
public sealed class SystemDnsLookup : IDnsLookup
{
    public static readonly SystemDnsLookup Instance = new();

    public async Task<DnsAnswer> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel)
    {
        var all = await Dns.GetHostAddressesAsync(host, family switch
        {
            AddressFamilyFilter.IPv4 => AddressFamily.InterNetwork,
            AddressFamilyFilter.IPv6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unspecified,
        }, cancel).ConfigureAwait(false);
        return new DnsAnswer(Filter(all, family), null);
    }

    public static IPAddress[] Filter(IPAddress[] addresses, AddressFamilyFilter family) => family switch
    {
        AddressFamilyFilter.IPv4 => [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork)],
        AddressFamilyFilter.IPv6 => [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6)],
        _ => addresses,
    };
}
