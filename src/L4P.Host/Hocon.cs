using Akka.Configuration;

namespace L4P.Host;

/// <summary>The Akka settings in hocon/l4p.hocon, embedded so a single-file build carries them.</summary>
internal static class Hocon
{
    public static Akka.Configuration.Config Load()
    {
        using var stream = typeof(Hocon).Assembly.GetManifestResourceStream("l4p.hocon")
            ?? throw new InvalidOperationException("embedded resource l4p.hocon is missing");
        using var reader = new StreamReader(stream);
        return ConfigurationFactory.ParseString(reader.ReadToEnd());
    }
}
