using Microsoft.Extensions.Logging;

namespace L4P.LoadBalancing;

internal static partial class Log
{
    [LoggerMessage(EventId = 25, Level = LogLevel.Warning, Message = "upstream {Upstream}: {Address} ejected for {For} {Why}")]
    public static partial void Ejected(ILogger log, string upstream, string address, string @for, string why);

    [LoggerMessage(EventId = 26, Level = LogLevel.Information, Message = "upstream {Upstream}: {Address} back in rotation: {Why}")]
    public static partial void Restored(ILogger log, string upstream, string address, string why);
}
