using L4P.Config;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;

namespace L4P.Host;

/// <summary>Console logs, text or JSON, at the config's level; Akka's own logs are routed here too.</summary>
internal static class Logging
{
    public static void Configure(ILoggingBuilder logging, ProxyConfig config)
    {
        logging.ClearProviders();
        if (config.LogFormat == LogFormat.Json)
            logging.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        else
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
                o.ColorBehavior = LoggerColorBehavior.Disabled;
            });
        // Lines queue for the console writer; a full queue blocks the logging thread, which may be a
        // socket thread running connections. 2,500 (the default) fills in a fraction of a second of
        // connection lines under load.
        logging.Services.Configure<ConsoleLoggerOptions>(o => o.MaxQueueLength = 100_000);
        logging.SetMinimumLevel(Level(config.Log));
    }

    public static LogLevel Level(LogSetting s) => s.ToLogLevel();

    public static Akka.Event.LogLevel AkkaLevel(LogSetting s) => s switch
    {
        LogSetting.Off or LogSetting.Error => Akka.Event.LogLevel.ErrorLevel,
        LogSetting.Warn => Akka.Event.LogLevel.WarningLevel,
        LogSetting.Info => Akka.Event.LogLevel.InfoLevel,
        _ => Akka.Event.LogLevel.DebugLevel,
    };
}
