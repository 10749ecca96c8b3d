using System.Net;
using L4P.Connections;

namespace L4P.Routing;

/// <summary>
/// ClientConnection -> Router, once per connection: where does a connection to <paramref name="Server"/>
/// with this SNI (null: none, or tls off) from this client go? Answered with a <see cref="RouteDecision"/>
/// to the sender.
/// </summary>
public sealed record RouteRequest(string Server, string? ServerName, IPAddress? Client);

/// <summary>
/// Router -> ClientConnection. For a TCP upstream, <see cref="Plan"/> says how to reach it and
/// <see cref="Addresses"/> lists where, best first in the upstream's balance order (the rest are
/// fall-throughs); built-ins have neither. <see cref="Refusal"/> set: the connection cannot go anywhere.
/// </summary>
public sealed record RouteDecision(Route Route, UpstreamPlan? Plan, IPEndPoint[] Addresses, RouteRefusal? Refusal);

/// <summary>Why a route has nowhere to go: <see cref="Close"/> for <c>result=</c> (<see cref="Code"/> its label), <see cref="Reason"/> for a person.</summary>
public sealed record RouteRefusal(CloseCode Close, string Reason)
{
    public string Code => Close.Label();
}

/// <summary>UpstreamConnection -> Router: one connect attempt to <paramref name="Address"/> succeeded or failed (leastconn, outliers).</summary>
public sealed record DialOutcome(string Upstream, IPEndPoint Address, bool Connected);

/// <summary>UpstreamConnection -> Router: the connection made to <paramref name="Address"/> has ended (leastconn).</summary>
public sealed record UpstreamReleased(string Upstream, IPEndPoint Address);
