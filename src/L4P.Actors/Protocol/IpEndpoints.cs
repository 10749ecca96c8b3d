using System.Net;

namespace L4P.Protocol;

/// <summary>
/// Dual-stack sockets report IPv4 peers as IPv4-mapped IPv6 (<c>::ffff:1.2.3.4</c>); logs, the PROXY
/// header and source hashing want the plain IPv4 form.
/// </summary>
public static class IpEndpoints
{
    public static IPAddress Unmap(IPAddress a) => a.IsIPv4MappedToIPv6 ? a.MapToIPv4() : a;

    public static IPEndPoint Unmap(IPEndPoint ep) => ep.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ep.Address.MapToIPv4(), ep.Port) : ep;

    public static EndPoint Unmap(EndPoint ep) => ep is IPEndPoint ip ? Unmap(ip) : ep;
}
