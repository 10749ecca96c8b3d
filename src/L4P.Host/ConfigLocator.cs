namespace L4P.Host;

/// <summary>Which config file to load: --config, else $L4P_CONFIG, else the default paths in order.</summary>
public static class ConfigLocator
{
    public static readonly string[] DefaultPaths = ["/etc/l4p/l4p.yaml", "/etc/l4p/config.yaml", "./l4p.yaml"];

    public static string? Locate(string? fromCli, Func<string, string?> env, Func<string, bool> exists)
    {
        if (!string.IsNullOrEmpty(fromCli)) return fromCli;
        var fromEnv = env("L4P_CONFIG");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        return DefaultPaths.FirstOrDefault(exists);
    }
}
