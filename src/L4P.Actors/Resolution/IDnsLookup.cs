using System.Net;
using System.Net.Sockets;
using L4P.Config;

namespace L4P.Resolution;

/// <summary>The DNS seam: tests script answers, production asks the system resolver.</summary>
public interface IDnsLookup
{
    Task<IPAddress[]> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel);
}

/// <summary>The system resolver (so /etc/hosts works), filtered by the upstream's scheme.</summary>
public sealed class SystemDnsLookup : IDnsLookup
{
    public static readonly SystemDnsLookup Instance = new();

    public async Task<IPAddress[]> ResolveAsync(string host, AddressFamilyFilter family, CancellationToken cancel)
    {
        var all = await Dns.GetHostAddressesAsync(host, family switch
        {
            AddressFamilyFilter.IPv4 => AddressFamily.InterNetwork,
            AddressFamilyFilter.IPv6 => AddressFamily.InterNetworkV6,
            _ => AddressFamily.Unspecified,
        }, cancel).ConfigureAwait(false);
        return Filter(all, family);
    }

    public static IPAddress[] Filter(IPAddress[] addresses, AddressFamilyFilter family) => family switch
    {
        AddressFamilyFilter.IPv4 => [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetwork)],
        AddressFamilyFilter.IPv6 => [.. addresses.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6)],
        _ => addresses,
    };
}
