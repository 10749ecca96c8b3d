namespace L4P.Config;

/// <summary>
/// Config keys that parse and validate but whose behaviour has not landed yet. Starting with one
/// fails with a clear line rather than silently ignoring it. Delete an entry when its feature lands.
/// </summary>
public static class FeatureGate
{
    public static void Check(ProxyConfig config)
    {
        foreach (var server in config.Servers)
        {
            var path = $"servers.{server.Name}";
            if (server.Via.IsActive) throw NotYet(config, $"{path}.via", "CONNECT tunnelling through an upstream HTTP proxy");
            foreach (var rule in server.Sni)
                if (rule.Via is { IsActive: true })
                    throw NotYet(config, $"{path}.sni.{rule.Pattern}.via", "CONNECT tunnelling through an upstream HTTP proxy");
        }
    }

    private static ConfigException NotYet(ProxyConfig config, string path, string what) =>
        new($"{config.SourcePath}: {path}: {what} is not supported yet by this L4P version");
}
