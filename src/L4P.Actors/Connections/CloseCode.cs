namespace L4P.Connections;

/// <summary>
/// Why a connection ended, as the log's <c>result=</c> and the metrics' <c>result</c> label say it:
/// one stable label per value (<see cref="CloseCodes.Label"/>), which dashboards and alerts match on.
/// </summary>
public enum CloseCode
{
    /// <summary>The connection ran its course: both sides closed normally.</summary>
    Ok,

    /// <summary>The route's upstream is the <c>ban</c> built-in: closed at once.</summary>
    Banned,

    /// <summary>Every address of the upstream refused or failed the TCP connect.</summary>
    ConnectFailed,

    /// <summary>No upstream connection (CONNECT exchange included) within the connect timeout.</summary>
    ConnectTimeout,

    /// <summary>The upstream's name has no address yet: its DNS lookups are failing.</summary>
    DnsFailed,

    /// <summary>The client's socket ended in an error or a reset.</summary>
    ClientReset,

    /// <summary>The upstream's socket ended in an error or a reset.</summary>
    UpstreamReset,

    /// <summary>The CONNECT proxy answered with a non-2xx status (the label carries the number: <c>proxy_status_407</c>).</summary>
    ProxyStatus,

    /// <summary>The CONNECT proxy's answer was not a valid HTTP reply (or too large).</summary>
    ProxyBadReply,

    /// <summary>The CONNECT proxy closed the connection before answering.</summary>
    ProxyClosed,

    /// <summary>No complete ClientHello within <c>timeouts.client_hello</c>.</summary>
    ClientHelloTimeout,

    /// <summary>The client's first bytes are not a valid TLS ClientHello.</summary>
    ClientHelloMalformed,

    /// <summary>The ClientHello did not fit in the sniffing buffer.</summary>
    ClientHelloTooLarge,

    /// <summary>The client closed before the connection got anywhere (before its header, hello or upstream).</summary>
    ClientClosed,

    /// <summary>The route needs the SNI (a CONNECT target built from it) and the client sent none.</summary>
    NoSni,

    /// <summary>No byte moved either way for <c>timeouts.idle</c>.</summary>
    IdleTimeout,

    /// <summary>Every address of the upstream failed its health checks.</summary>
    AllDown,

    /// <summary>accept_proxy: the PROXY header was malformed or did not come within the ClientHello timeout.</summary>
    ProxyProtocolInvalid,

    /// <summary>accept_proxy: the sender is not in <c>accept_proxy_from</c>.</summary>
    ProxyProtocolUntrusted,

    /// <summary>Refused at accept: the server's <c>maxclients</c> was reached (metrics only: no log line).</summary>
    RejectedMaxClients,

    /// <summary>Refused at accept: the process's connection ceiling (descriptors) was reached (metrics only).</summary>
    RejectedMaxConnections,

    /// <summary>Health built-in: no complete request head within <c>timeouts.http_request</c> (408 when part of one came).</summary>
    HttpRequestTimeout,

    /// <summary>Health built-in: no next request on a keep-alive connection.</summary>
    HttpKeepAliveTimeout,

    /// <summary>The router did not answer the route request in time.</summary>
    RouterTimeout,

    /// <summary>The paired upstream connection actor failed, or stopped before it connected.</summary>
    UpstreamFailed,

    /// <summary>The client is in the server's <c>deny</c>, or not in its <c>allow</c>: refused before any dial.</summary>
    Denied,
}

public static class CloseCodes
{
    /// <summary>What every <see cref="CloseCode.ProxyStatus"/> label starts with; the proxy's status number follows.</summary>
    public const string ProxyStatusPrefix = "proxy_status_";

    /// <summary>
    /// The stable label of <paramref name="code"/>. <see cref="CloseCode.ProxyStatus"/> gives the pattern
    /// <c>proxy_status_NNN</c>; <see cref="CloseReason.Label"/> puts the status number in.
    /// </summary>
    public static string Label(this CloseCode code) => code switch
    {
        CloseCode.Ok => "ok",
        CloseCode.Banned => "banned",
        CloseCode.ConnectFailed => "connect_failed",
        CloseCode.ConnectTimeout => "connect_timeout",
        CloseCode.DnsFailed => "dns_failed",
        CloseCode.ClientReset => "client_reset",
        CloseCode.UpstreamReset => "upstream_reset",
        CloseCode.ProxyStatus => ProxyStatusPrefix + "NNN",
        CloseCode.ProxyBadReply => "proxy_bad_reply",
        CloseCode.ProxyClosed => "proxy_closed",
        CloseCode.ClientHelloTimeout => "client_hello_timeout",
        CloseCode.ClientHelloMalformed => "client_hello_malformed",
        CloseCode.ClientHelloTooLarge => "client_hello_too_large",
        CloseCode.ClientClosed => "client_closed",
        CloseCode.NoSni => "no_sni",
        CloseCode.IdleTimeout => "idle_timeout",
        CloseCode.AllDown => "all_down",
        CloseCode.ProxyProtocolInvalid => "proxy_protocol_invalid",
        CloseCode.ProxyProtocolUntrusted => "proxy_protocol_untrusted",
        CloseCode.RejectedMaxClients => "rejected_maxclients",
        CloseCode.RejectedMaxConnections => "rejected_max_connections",
        CloseCode.HttpRequestTimeout => "http_request_timeout",
        CloseCode.HttpKeepAliveTimeout => "http_keep_alive_timeout",
        CloseCode.RouterTimeout => "router_timeout",
        CloseCode.UpstreamFailed => "upstream_failed",
        CloseCode.Denied => "denied",
        _ => throw new ArgumentOutOfRangeException(nameof(code), code, null),
    };
}
