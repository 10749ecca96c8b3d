using Microsoft.Extensions.Logging;

namespace L4P.Cluster;

internal static partial class Log
{
    /// <summary>A warning, unless this incident has had its warning (the node was cut off before).</summary>
    [LoggerMessage(EventId = 40, Message = "cluster: {Self} is out of the cluster (downed or removed): proxying goes on with this node's own view and share of the limits; rejoining in {After}")]
    public static partial void Detached(ILogger log, LogLevel level, string self, string after);

    /// <summary>A warning, unless this incident has had its warning (a flapping link).</summary>
    [LoggerMessage(EventId = 43, Message = "cluster: {Self} is cut off ({Reachable} of {Members} members reachable): proxying goes on with this node's own view and share of the limits until the others are reachable again or this node is downed and rejoins")]
    public static partial void CutOff(ILogger log, LogLevel level, string self, int reachable, int members);

    [LoggerMessage(EventId = 44, Level = LogLevel.Information, Message = "cluster: {Self} reaches the majority again: back to the fleet's view")]
    public static partial void ReachableAgain(ILogger log, string self);

    [LoggerMessage(EventId = 41, Level = LogLevel.Information, Message = "cluster: {Self} is a member again, {Seconds:0.0} s after it was detached")]
    public static partial void Rejoined(ILogger log, string self, double seconds);

    [LoggerMessage(EventId = 42, Level = LogLevel.Information, Message = "cluster: cannot start the fleet on {Self}: {Reason}; trying again in {After}")]
    public static partial void FleetStartFailed(ILogger log, string self, string reason, string after);
}
