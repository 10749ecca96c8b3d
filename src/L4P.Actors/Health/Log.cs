using Microsoft.Extensions.Logging;

namespace L4P.Health;

internal static partial class Log
{
    [LoggerMessage(EventId = 23, Level = LogLevel.Warning, Message = "upstream {Upstream}: {Address} is down after {Fall} failed checks (last: {Detail})")]
    public static partial void AddressDown(ILogger log, string upstream, System.Net.EndPoint address, int fall, string detail);

    [LoggerMessage(EventId = 24, Level = LogLevel.Information, Message = "upstream {Upstream}: {Address} is up again after {Rise} good checks ({Detail})")]
    public static partial void AddressUp(ILogger log, string upstream, System.Net.EndPoint address, int rise, string detail);
}
