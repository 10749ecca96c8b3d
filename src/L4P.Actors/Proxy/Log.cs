using Microsoft.Extensions.Logging;

namespace L4P.Proxy;

internal static partial class Log
{
    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "connection ceiling {Ceiling}: {Explanation}")]
    public static partial void Ceiling(ILogger log, string ceiling, string explanation);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "connection ceiling: {Problem}")]
    public static partial void CeilingProblem(ILogger log, string problem);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "config: {Advice}")]
    public static partial void ConfigAdvice(ILogger log, string advice);
}
