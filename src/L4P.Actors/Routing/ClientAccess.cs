using System.Collections.Immutable;
using System.Net;
using L4P.Config;

namespace L4P.Routing;

/// <summary>
/// Who a server serves (<c>allow</c>, <c>deny</c>), decided on the effective client address: the PROXY
/// header's source when a trusted balancer sent one, else the peer's. Pure, so the rule is tested alone.
/// </summary>
public static class ClientAccess
{
    /// <summary>What the built-in <c>admin</c> answers when the server has no <c>allow</c>: this host only.</summary>
    public static readonly ImmutableArray<IPNetwork> Loopback =
        [IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")];

    /// <summary>
    /// Null when <paramref name="client"/> may be served, else why not (a sentence for the log).
    /// <c>deny</c> wins over <c>allow</c>; an empty <c>allow</c> lets anyone in, or, with
    /// <paramref name="loopbackByDefault"/>, loopback clients only. A client without an IP address (none
    /// known) passes only where nothing is restricted.
    /// </summary>
    public static string? Refusal(ServerConfig server, IPAddress? client, bool loopbackByDefault = false)
    {
        var allow = server.Allow.IsEmpty && loopbackByDefault ? Loopback : server.Allow;
        if (server.Deny.IsEmpty && allow.IsEmpty) return null;
        if (client is null) return "the client has no IP address to check against allow/deny";
        // An IPv4 client on a dual-stack socket arrives as ::ffff:a.b.c.d: the lists are written as IPv4.
        if (client.IsIPv4MappedToIPv6) client = client.MapToIPv4();
        foreach (var network in server.Deny)
            if (network.Contains(client)) return $"deny: {client} is in {network}";
        if (allow.IsEmpty) return null;
        foreach (var network in allow)
            if (network.Contains(client)) return null;
        return server.Allow.IsEmpty
            ? $"{client} is not a loopback address (the admin built-in answers loopback only without allow)"
            : $"allow: {client} is in none of {string.Join(", ", allow)}";
    }
}
