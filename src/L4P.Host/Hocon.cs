using Akka.Configuration;

namespace L4P.Host;

/// <summary>The Akka settings in hocon/l4p.hocon, embedded so a single-file build carries them.</summary>
internal static class Hocon
{
    /// <summary>The embedded settings, overridden by <paramref name="overrideFile"/> when given.</summary>
    public static Akka.Configuration.Config Load(string? overrideFile)
    {
        var builtIn = Load();
        return overrideFile is null ? builtIn : ConfigurationFactory.ParseString(File.ReadAllText(overrideFile)).WithFallback(builtIn);
    }

    public static Akka.Configuration.Config Load()
    {
        using var stream = typeof(Hocon).Assembly.GetManifestResourceStream("l4p.hocon")
            ?? throw new InvalidOperationException("embedded resource l4p.hocon is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
