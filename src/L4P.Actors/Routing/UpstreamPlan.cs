using L4P.Config;
using L4P.Protocol;

namespace L4P.Routing;

/// <summary>
/// How one connection reaches its upstream: the address to dial (the upstream, or the HTTP proxy when
/// a via applies), the time allowed (TCP connect plus the CONNECT exchange), and the CONNECT to send.
/// </summary>
public sealed record UpstreamPlan(TcpUpstreamConfig Upstream, TimeSpan Timeout, ConnectRequest? Connect, string? Target)
{
    /// <summary>Sent to the backend first (after the CONNECT exchange when a via applies).</summary>
    public byte[]? ProxyHeader { get; init; }

    /// <returns>The plan, or null with <paramref name="problem"/> saying why the connection cannot go anywhere.</returns>
    public static UpstreamPlan? For(Route route, TcpUpstreamConfig upstream, string? sni, ServerTimeouts timeouts, out string? problem)
    {
        problem = null;
        if (route.Connect is null) return new UpstreamPlan(upstream, timeouts.Connect, null, null);
        var via = route.Via;
        string target;
        if (via.UseSniAsTarget)
        {
            if (sni is null)
            {
                problem = "use_sni_as_target: the client sent no SNI (an IP literal counts as none), nothing to CONNECT to";
                return null;
            }
            target = $"{sni}:{via.TargetPort}";
        }
        else target = via.Target!;
        return new UpstreamPlan(upstream, via.ConnectTimeout, route.Connect, target);
    }
}
