using System.Collections.Immutable;
using System.Net;

namespace L4P.Config;

/// <summary>One loaded, validated config file. Immutable: a reload builds a new one.</summary>
public sealed record ProxyConfig(
    string SourcePath,
    int Version,
    LogSetting Log,
    LogFormat LogFormat,
    TimeSpan ShutdownTimeout,
    ImmutableArray<ServerConfig> Servers,
    ImmutableDictionary<string, UpstreamConfig> Upstreams,
    ResolverConfig Resolver)
{
    public ClusterConfig Cluster { get; init; } = ClusterConfig.Disabled;

    /// <summary>
    /// <c>max_connections</c>: lowers the process-wide ceiling on client connections that L4P derives from
    /// RLIMIT_NOFILE (null: the derived ceiling alone).
    /// </summary>
    public int? MaxConnections { get; init; }
}

/// <summary>
/// Cluster mode (Akka.Cluster): this node's remoting address, the seed nodes to join (Akka addresses
/// <c>akka.tcp://l4p@host:port</c>), and its roles. Disabled: no cluster port is opened.
/// </summary>
public sealed record ClusterConfig(bool Enabled, string Hostname, int Port, ImmutableArray<string> SeedNodes, ImmutableArray<string> Roles)
{
    public const string SystemName = "l4p";
    public static readonly ClusterConfig Disabled = new(false, "127.0.0.1", 4053, [], []);

    /// <summary>
    /// <c>down_after</c>: how long the split-brain resolver waits for an unreachable member to come back
    /// before it downs it (or, on the minority side, downs this node). Akka's default, 20 s.
    /// </summary>
    public TimeSpan DownAfter { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// <c>rejoin_after</c>: how long a detached node (downed or removed) waits before its fleet starts
    /// again and rejoins the seeds; doubled after each failed start, up to 30 s.
    /// </summary>
    public TimeSpan RejoinAfter { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>This node's own Akka address, the one the others know it by (the same across rejoins).</summary>
    public string SelfAddress => $"akka.tcp://{SystemName}@{Hostname}:{Port}";
}

/// <summary>
/// DNS re-resolution of upstream names, modelled on HAProxy's <c>resolvers</c>. Without nameservers the
/// system resolver is used (so /etc/hosts works); with them, they are queried directly.
/// </summary>
public sealed record ResolverConfig(
    ImmutableArray<IPEndPoint> Nameservers,
    TimeSpan Interval,
    TimeSpan Retry,
    TimeSpan Timeout,
    bool RespectTtl,
    TimeSpan MinTtl)
{
    public static readonly ResolverConfig Defaults =
        new([], TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(5), false, TimeSpan.FromSeconds(1));
}

public enum LogSetting { Off, Error, Warn, Info, Debug, Trace }

public static class LogSettings
{
    /// <summary>The Microsoft.Extensions.Logging level the config's <c>log</c> means.</summary>
    public static Microsoft.Extensions.Logging.LogLevel ToLogLevel(this LogSetting s) => s switch
    {
        LogSetting.Off => Microsoft.Extensions.Logging.LogLevel.None,
        LogSetting.Error => Microsoft.Extensions.Logging.LogLevel.Error,
        LogSetting.Warn => Microsoft.Extensions.Logging.LogLevel.Warning,
        LogSetting.Info => Microsoft.Extensions.Logging.LogLevel.Information,
        LogSetting.Debug => Microsoft.Extensions.Logging.LogLevel.Debug,
        _ => Microsoft.Extensions.Logging.LogLevel.Trace,
    };
}

public enum LogFormat { Text, Json }

public sealed record ServerConfig(
    string Name,
    ImmutableArray<IPEndPoint> Listen,
    bool Tls,
    ImmutableArray<SniRule> Sni,
    string Default,
    int MaxClients,
    ViaConfig Via,
    ServerTimeouts Timeouts)
{
    /// <summary>Clients are a load balancer that sends a PROXY protocol header (v1 or v2) first.</summary>
    public bool AcceptProxy { get; init; }

    /// <summary>
    /// Who may send that header (<c>accept_proxy_from</c>): a connection from elsewhere is closed before
    /// anything is read. Empty: anyone who reaches the port.
    /// </summary>
    public ImmutableArray<IPNetwork> AcceptProxyFrom { get; init; } = [];

    /// <summary>
    /// <see cref="LimitScope.Node"/>: <see cref="MaxClients"/> per listen address of this process (as
    /// tls-proxy-tunnel). <see cref="LimitScope.Cluster"/>: for the whole server across the fleet.
    /// </summary>
    public LimitScope MaxClientsScope { get; init; } = LimitScope.Node;

    /// <summary>
    /// <c>frame_size</c>: Akka.IO's frame for this server's sockets, accepted and dialled (null: the
    /// process default). Each socket holds a receive buffer of this size for its whole life, so it sets
    /// idle memory per connection against bulk throughput, per server (README: Performance).
    /// </summary>
    public int? FrameSize { get; init; }

    public const int MinFrameSize = 1024;
    public const int MaxFrameSize = 1024 * 1024;

    /// <summary>
    /// <c>allow</c>: when not empty, only clients in these networks are served (the client is the PROXY
    /// header's source when a trusted balancer sent one). Empty: anyone, except that the <c>admin</c>
    /// built-in then answers loopback clients only.
    /// </summary>
    public ImmutableArray<IPNetwork> Allow { get; init; } = [];

    /// <summary><c>deny</c>: clients in these networks are refused, whatever <see cref="Allow"/> says.</summary>
    public ImmutableArray<IPNetwork> Deny { get; init; } = [];

    /// <summary><c>admin_token</c>: the <c>admin</c> built-in then requires <c>Authorization: Bearer</c> with it.</summary>
    public BearerToken? AdminToken { get; init; }

    /// <summary>The upstream names this server's routes can reach: <see cref="Default"/> and every <c>sni:</c> rule's.</summary>
    public IEnumerable<string> RouteUpstreams => Sni.Select(r => r.Upstream).Prepend(Default);

    /// <summary>True when a route of this server goes to the built-in of <paramref name="kind"/> (built-ins cannot be redefined).</summary>
    public bool RoutesTo(BuiltinKind kind) =>
        RouteUpstreams.Any(u => BuiltinUpstreamConfig.All.TryGetValue(u, out var b) && ((BuiltinUpstreamConfig)b).Kind == kind);
}

public enum LimitScope { Node, Cluster }

/// <summary>Per-server timeouts. <see cref="Idle"/>: no byte either way for that long closes the connection.</summary>
public sealed record ServerTimeouts(TimeSpan ClientHello, TimeSpan Connect, TimeSpan Idle)
{
    public static readonly ServerTimeouts Defaults = new(TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10), TimeSpan.FromMinutes(10));

    /// <summary>
    /// The <c>health</c> built-in: a complete request head within this long of the connection's start
    /// or of the previous answer (HAProxy's <c>timeout http-request</c> and <c>http-keep-alive</c>).
    /// </summary>
    public TimeSpan HttpRequest { get; init; } = TimeSpan.FromSeconds(10);
}

/// <summary>
/// An <c>sni:</c> entry. <see cref="Via"/> null means "inherit the server's via"; when
/// <see cref="SendProxySet"/> is false the upstream's <c>send_proxy</c> applies, else <see cref="SendProxy"/>
/// (null = off).
/// </summary>
public sealed record SniRule(string Pattern, string Upstream, ViaConfig? Via)
{
    public bool SendProxySet { get; init; }
    public Protocol.ProxyProtocol.Version? SendProxy { get; init; }
}

/// <summary>
/// The upstream HTTP proxy settings. It applies (a CONNECT is sent) only when
/// <see cref="Target"/> is set or <see cref="UseSniAsTarget"/> is true; <c>via: {}</c> is <see cref="None"/>.
/// </summary>
public sealed record ViaConfig(
    string? Target,
    bool UseSniAsTarget,
    int TargetPort,
    TimeSpan ConnectTimeout,
    TimeSpan StatsInterval,
    ImmutableArray<KeyValuePair<string, string>> Headers)
{
    public static readonly ViaConfig None = new(null, false, 443, TimeSpan.FromSeconds(30), TimeSpan.Zero, []);

    public bool IsActive => Target is not null || UseSniAsTarget;
}

public enum AddressFamilyFilter { Any, IPv4, IPv6 }

/// <summary>
/// The built-in upstreams: <see cref="Health"/> answers <c>/health</c> only, to anyone; <see cref="Admin"/>
/// serves the operator's pages (status, metrics, cluster) to the clients the server lets in.
/// </summary>
public enum BuiltinKind { Ban, Echo, Health, Admin }

public abstract record UpstreamConfig(string Name);

/// <summary>One <c>tcp://host:port</c>, <c>tcp4://</c> or <c>tcp6://</c> target of an upstream.</summary>
public sealed record TargetConfig(string Host, int Port, AddressFamilyFilter Family, string Url)
{
    /// <summary>The host is an IP literal: never resolved.</summary>
    public IPAddress? Literal { get; } = IPAddress.TryParse(Host, out var ip) ? ip : null;
}

/// <summary>How a new connection picks among an upstream's addresses.</summary>
public enum Balance { RoundRobin, LeastConn, Random, Source }

/// <summary>
/// Active health checks: a TCP connect (and, with <see cref="Send"/>/<see cref="Expect"/>, a tiny
/// exchange) every <see cref="Interval"/>; <see cref="Fall"/> failures in a row mark an address down,
/// <see cref="Rise"/> successes mark it up again.
/// </summary>
public sealed record HealthCheckConfig(TimeSpan Interval, TimeSpan Timeout, int Rise, int Fall, string? Send, string? Expect)
{
    public static readonly HealthCheckConfig Defaults = new(TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), 2, 3, null, null);
}

/// <summary>
/// Passive outlier detection: <see cref="Failures"/> failed connects in a row to one address (seen by
/// one node) eject it for <see cref="EjectFor"/>, fleet-wide in cluster mode, or until a connect to it
/// succeeds.
/// </summary>
public sealed record OutlierConfig(int Failures, TimeSpan EjectFor)
{
    public static readonly OutlierConfig Defaults = new(3, TimeSpan.FromSeconds(30));
}

/// <summary>
/// A TCP upstream: one or more targets (the string form is one), resolved by the Resolver, with a
/// balancing rule, optional health checks and an optional PROXY protocol header.
/// </summary>
public sealed record TcpUpstreamConfig(string Name, ImmutableArray<TargetConfig> Targets) : UpstreamConfig(Name)
{
    public Balance Balance { get; init; } = Balance.RoundRobin;

    public HealthCheckConfig? Check { get; init; }

    public OutlierConfig? Outlier { get; init; }

    /// <summary>Prepend a PROXY protocol header carrying the real client address (<c>send_proxy</c>).</summary>
    public Protocol.ProxyProtocol.Version? SendProxy { get; init; }

    /// <summary>The targets as written, for logs and the status page.</summary>
    public string Url => string.Join(", ", Targets.Select(t => t.Url));
}

public sealed record BuiltinUpstreamConfig(string Name, BuiltinKind Kind) : UpstreamConfig(Name)
{
    public static readonly ImmutableDictionary<string, UpstreamConfig> All =
        new Dictionary<string, UpstreamConfig>
        {
            ["ban"] = new BuiltinUpstreamConfig("ban", BuiltinKind.Ban),
            ["echo"] = new BuiltinUpstreamConfig("echo", BuiltinKind.Echo),
            ["health"] = new BuiltinUpstreamConfig("health", BuiltinKind.Health),
            ["admin"] = new BuiltinUpstreamConfig("admin", BuiltinKind.Admin),
        }.ToImmutableDictionary();
}
