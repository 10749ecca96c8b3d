using Akka.Actor;
using Akka.IO;
using L4P.Config;

namespace L4P.Transport;

/// <summary>Which TCP transport the proxy's actors talk to: Akka.IO's, or L4P's own over .NET sockets.</summary>
public static class Transports
{
    /// <summary>Read when the config has no <c>transport:</c> key (the test suite runs once per transport with it).</summary>
    public const string EnvironmentVariable = "L4P_TRANSPORT";

    /// <summary>
    /// The config's <c>transport:</c>, else <c>$L4P_TRANSPORT</c>, else the sockets transport: ahead of
    /// Akka.IO in <c>bench/run.sh</c> and passing the same suite (README: Performance).
    /// </summary>
    /// <exception cref="ConfigException">The environment variable names no transport.</exception>
    public static TransportKind Choose(ProxyConfig config, Func<string, string?> env)
    {
        if (config.Transport is { } chosen) return chosen;
        var value = env(EnvironmentVariable);
        if (string.IsNullOrEmpty(value)) return TransportKind.Sockets;
        return TryParse(value) ?? throw new ConfigException($"{EnvironmentVariable}: unknown transport '{value}' (expected akka or sockets)");
    }

    public static TransportKind? TryParse(string value) => value.ToLowerInvariant() switch
    {
        "akka" or "akka.io" => TransportKind.Akka,
        "sockets" => TransportKind.Sockets,
        _ => null,
    };

    /// <summary>The actor that takes Bind and Connect for <paramref name="kind"/>.</summary>
    public static IActorRef Start(ActorSystem system, TransportKind kind) => kind switch
    {
        TransportKind.Sockets => system.ActorOf(SocketTransport.Props(
            (int)(system.Settings.Config.GetByteSize("akka.io.tcp.maximum-frame-size") ?? 32 * 1024)), "sockets"),
        _ => system.Tcp(),
    };
}
