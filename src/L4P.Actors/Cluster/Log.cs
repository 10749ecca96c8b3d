using Microsoft.Extensions.Logging;

namespace L4P.Cluster;

internal static partial class Log
{
    [LoggerMessage(EventId = 40, Level = LogLevel.Warning, Message = "cluster: {Self} is out of the cluster (downed, removed or cut off): proxying goes on with this node's own view and share of the limits; rejoining in {After}")]
    public static partial void Detached(ILogger log, string self, string after);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "cluster: {Self} is a member again, {Seconds:0.0} s after it was detached")]
    public static partial void Rejoined(ILogger log, string self, double seconds);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "cluster: cannot start the fleet on {Self}: {Reason}; trying again in {After}")]
    public static partial void FleetStartFailed(ILogger log, string self, string reason, string after);
}
