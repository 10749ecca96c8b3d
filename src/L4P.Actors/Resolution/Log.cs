using Microsoft.Extensions.Logging;

namespace L4P.Resolution;

internal static partial class Log
{
    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "upstream {Upstream}: {Old} -> {New}")]
    public static partial void Changed(ILogger log, string upstream, string old, string @new);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "dns: upstream {Upstreams}: lookup of {Name} failed: {Reason}; {Keeping}; retrying every {Retry}")]
    public static partial void LookupFailed(ILogger log, string upstreams, string name, string reason, string keeping, string retry);

    [LoggerMessage(EventId = 27, Level = LogLevel.Debug, Message = "dns: {Name}: the {Type} query failed ({Reason}); using the other family's answer")]
    public static partial void FamilyFailed(ILogger log, string name, string type, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "dns: {Name} resolves again")]
    public static partial void Recovered(ILogger log, string name);

    [LoggerMessage(EventId = 28, Level = LogLevel.Error, Message = "{Actor} died ({Cause}); starting it again in {Delay}")]
    public static partial void ChildDied(ILogger log, string actor, string cause, string delay);
}
