using Microsoft.Extensions.Logging;

namespace L4P.Proxy;

internal static partial class Log
{
    [LoggerMessage(EventId = 9, Level = LogLevel.Information, Message = "connection ceiling {Ceiling}: {Explanation}")]
    public static partial void Ceiling(ILogger log, string ceiling, string explanation);

    [LoggerMessage(EventId = 10, Level = LogLevel.Warning, Message = "connection ceiling: {Problem}")]
    public static partial void CeilingProblem(ILogger log, string problem);

    [LoggerMessage(EventId = 29, Level = LogLevel.Error, Message = "config generation {Generation} failed to start: {Cause}")]
    public static partial void GenerationFailed(ILogger log, int generation, string cause);

    [LoggerMessage(EventId = 30, Level = LogLevel.Error, Message = "{Router} died ({Cause}): connections get router_timeout until it is started again in {Delay}")]
    public static partial void RouterDied(ILogger log, string router, string cause, string delay);

    [LoggerMessage(EventId = 31, Level = LogLevel.Error, Message = "the proxy's root actor failed handling a message ({Cause}); resumed with its state, config and connections")]
    public static partial void RootResumed(ILogger log, string cause);

    [LoggerMessage(EventId = 32, Level = LogLevel.Critical, Message = "{Reason}: the proxy takes no connections")]
    public static partial void RootStopped(ILogger log, string reason);

    [LoggerMessage(EventId = 15, Level = LogLevel.Warning, Message = "config: {Advice}")]
    public static partial void ConfigAdvice(ILogger log, string advice);

    [LoggerMessage(EventId = 33, Level = LogLevel.Error, Message = "{Listener} on {Address} died ({Cause}), and its connections with it: binding the address again in {Delay}")]
    public static partial void ListenerDied(ILogger log, string listener, string address, string cause, string delay);
}
