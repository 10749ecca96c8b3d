namespace L4P.Config;

/// <summary>
/// Warnings about a valid config that may not do what its author expects after an upgrade: one line
/// each, said at start, on reload and by <c>--check</c>, never per connection.
/// </summary>
public static class ConfigAdvice
{
    /// <summary>The lines for <paramref name="config"/> (none for a config that needs no advice).</summary>
    public static IReadOnlyList<string> For(ProxyConfig config) => HealthPagesMoved(config) is { } line ? [line] : [];

    /// <summary>
    /// Before the admin built-in, every health server also served the status, metrics and cluster pages:
    /// a config with health servers and no admin one most likely still expects them there.
    /// </summary>
    public static string? HealthPagesMoved(ProxyConfig config)
    {
        if (config.Servers.Any(s => s.RoutesTo(BuiltinKind.Admin))) return null;
        var health = config.Servers.Where(s => s.RoutesTo(BuiltinKind.Health)).Select(s => $"servers.{s.Name}").ToList();
        return health.Count == 0 ? null
            : $"{string.Join(", ", health)}: the built-in health now answers /health only; /status, /status.json, /metrics and /cluster "
              + "moved to the built-in admin (loopback only by default; add a server with default: admin)";
    }
}
