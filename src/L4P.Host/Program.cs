using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;
using Akka.Hosting;
using L4P.Config;
using L4P.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace L4P.Host;

public static class Program
{
    public static string Version =>
        typeof(Program).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";

    public static async Task<int> Main(string[] args)
    {
        var configOption = new Option<string?>("--config", "-c")
        {
            Description = "The YAML config file. Default: $L4P_CONFIG, else " + string.Join(", ", ConfigLocator.DefaultPaths),
        };
        var akkaOption = new Option<string?>("--akka-config")
        {
            Description = "A HOCON file whose settings override the built-in hocon/l4p.hocon (Akka tuning)",
        };
        var checkOption = new Option<bool>("--check")
        {
            Description = "Validate the config and exit: 0 when valid, 2 with one line naming the problem when not",
        };
        var root = new RootCommand("L4P: a layer-4 TCP proxy that routes TLS by SNI without terminating it")
        {
            configOption,
            checkOption,
            akkaOption,
        };
        root.SetAction((parse, cancel) => RunAsync(root, parse.GetValue(configOption), parse.GetValue(checkOption), parse.GetValue(akkaOption)));
        var result = root.Parse(args);
        if (result.Errors.Count > 0)
        {
            foreach (var e in result.Errors) await Console.Error.WriteLineAsync($"l4p: {e.Message}");
            return 2;
        }
        return await result.InvokeAsync();
    }

    private static async Task<int> RunAsync(RootCommand command, string? configArg, bool checkOnly, string? akkaConfig)
    {
        var path = ConfigLocator.Locate(configArg, Environment.GetEnvironmentVariable, File.Exists);
        if (path is null)
        {
            await Console.Error.WriteLineAsync($"l4p: no config file: pass --config FILE, set L4P_CONFIG, or create one of {string.Join(", ", ConfigLocator.DefaultPaths)}");
            await command.Parse(["--help"]).InvokeAsync();
            return 2;
        }

        ProxyConfig config;
        try
        {
            config = ConfigLoader.LoadFile(path);
        }
        catch (ConfigException e)
        {
            await Console.Error.WriteLineAsync($"l4p: config error: {e.Message}");
            return 2;
        }

        if (checkOnly)
        {
            // Advice goes to stderr: stdout keeps its one "config OK" line for scripts.
            foreach (var advice in ConfigAdvice.For(config)) await Console.Error.WriteLineAsync($"l4p: warning: {advice}");
            Console.WriteLine($"l4p: {path}: config OK ({config.Servers.Length} server(s), {config.Upstreams.Count - BuiltinUpstreamConfig.All.Count} upstream(s))");
            return 0;
        }

        Akka.Configuration.Config hocon;
        try
        {
            hocon = Hocon.Load(akkaConfig);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or Akka.Configuration.ConfigurationException)
        {
            await Console.Error.WriteLineAsync($"l4p: --akka-config {akkaConfig}: {e.Message.ReplaceLineEndings(" ")}");
            return 2;
        }

        try
        {
            using var host = BuildHost(config, hocon);
            // SIGHUP means reload, not exit; taken once the proxy listens.
            var proxy = host.Services.GetRequiredService<L4PProxy>();
            PosixSignalRegistration? sighup = null;
            host.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStarted.Register(() =>
                sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ctx =>
                {
                    ctx.Cancel = true;
                    _ = proxy.ReloadFileAsync(proxy.Current.SourcePath);
                }));
            await host.RunAsync();
            sighup?.Dispose();
            return 0;
        }
        catch (ProxyStartException e)
        {
            await Console.Error.WriteLineAsync($"l4p: {e.Message}");
            return 1;
        }
    }

    /// <summary>
    /// The executable's host: console logs, systemd notify, and the process-wide Akka choices of
    /// hocon/l4p.hocon (guardian strategy, default mailbox, CLR shutdown hook off, log settings); the
    /// proxy itself comes from L4P.Actors' hosting API like in any other host.
    /// </summary>
    internal static IHost BuildHost(ProxyConfig config, Akka.Configuration.Config hocon)
    {
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            ContentRootPath = Directory.GetCurrentDirectory(),
        });
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);
        // Under systemd (Type=notify): READY=1 once every listener is bound, STOPPING=1 on SIGTERM.
        // A no-op elsewhere. Registered before logging so the config's log_format still wins.
        builder.Services.AddSystemd();
        // Drain first, then give Akka time to stop (within what the host's cancellation source accepts).
        var stopTimeout = config.ShutdownTimeout + TimeSpan.FromSeconds(15);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = stopTimeout < Durations.Max ? stopTimeout : Durations.Max);
        Logging.Configure(builder.Logging, config);
        builder.Services.AddL4P(config, o => o.Version = Version);
        builder.Services.AddAkka(ClusterConfig.SystemName, (akka, sp) =>
        {
            akka.AddHocon(hocon, HoconAddMode.Prepend);
            akka.ConfigureLoggers(loggers =>
            {
                loggers.LogLevel = Logging.AkkaLevel(config.Log);
                loggers.ClearLoggers();
                loggers.AddLoggerFactory();
            });
            akka.WithL4P(config, o =>
            {
                o.Version = Version;
                // --akka-config experiments with the frame size still work.
                if (hocon.GetByteSize("akka.io.tcp.maximum-frame-size") is { } frame) o.MaxFrameSize = (int)frame;
            });
        });
        return builder.Build();
    }
}
