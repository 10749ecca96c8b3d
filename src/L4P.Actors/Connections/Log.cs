using System.Net;
using Microsoft.Extensions.Logging;

namespace L4P.Connections;

/// <summary>
/// L4P's own log lines, through Microsoft.Extensions.Logging (structured in JSON output,
/// no boxing or formatting when the level is off). Akka's internal logs reach the same
/// providers through Akka.Hosting's logger bridge.
/// </summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information,
        Message = "conn server={Server} client={Client} sni={Sni} route={Route} upstream={Upstream} via={Via} up={BytesUp} down={BytesDown} duration={Seconds:0.000}s result={Result} reason=\"{Reason}\"")]
    public static partial void Connection(ILogger log, string server, EndPoint client, string sni, string route, string upstream, string via,
        long bytesUp, long bytesDown, double seconds, string result, string reason);

    [LoggerMessage(EventId = 7, Level = LogLevel.Information,
        Message = "tunnel server={Server} client={Client} sni={Sni} via={Via} up={BytesUp} down={BytesDown} open={Seconds:0}s")]
    public static partial void TunnelStats(ILogger log, string server, EndPoint client, string sni, string via,
        long bytesUp, long bytesDown, double seconds);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "server {Server}: listening on {Address}")]
    public static partial void Listening(ILogger log, string server, EndPoint address);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "server {Server} on {Address}: maxclients {Max} reached, closing new connections")]
    public static partial void MaxClientsReached(ILogger log, string server, EndPoint address, int max);

    [LoggerMessage(EventId = 4, Level = LogLevel.Information, Message = "server {Server} on {Address}: below maxclients again ({Rejected} rejected so far)")]
    public static partial void BelowMaxClients(ILogger log, string server, EndPoint address, long rejected);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "server {Server}: rejected {Client} (maxclients)")]
    public static partial void Rejected(ILogger log, string server, EndPoint client);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "server {Server} on {Address}: draining {Active} connection(s), new connections are closed")]
    public static partial void Draining(ILogger log, string server, EndPoint address, int active);

    [LoggerMessage(EventId = 8, Level = LogLevel.Debug,
        Message = "server {Server} client={Client}: connection {Connection} asked router {Router}, supervises upstream connection {Upstream} to {Target}")]
    public static partial void Paired(ILogger log, string server, EndPoint client, string connection, string router, string upstream, string target);

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning,
        Message = "connection ceiling {Ceiling} reached (first refused on server {Server} at {Address}): closing new connections on every server until some end ({Explanation})")]
    public static partial void CeilingReached(ILogger log, int ceiling, string server, EndPoint address, string explanation);

    [LoggerMessage(EventId = 12, Level = LogLevel.Information,
        Message = "connections below the ceiling again ({Active} open, ceiling {Ceiling}, {Rejected} refused at the ceiling so far)")]
    public static partial void BelowCeiling(ILogger log, int active, int ceiling, long rejected);

    [LoggerMessage(EventId = 13, Level = LogLevel.Debug, Message = "server {Server}: rejected {Client} (connection ceiling)")]
    public static partial void RejectedAtCeiling(ILogger log, string server, EndPoint client);
}
