using System.Collections.Immutable;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary>A <c>via:</c> (the upstream HTTP proxy), of a server or of one of its SNI rules.</summary>
internal static class ViaSection
{
    private static readonly Section<ViaConfig> ViaKeys = new(KeyListing.OneOf)
    {
        { "target", (y, v, p, via) => via with { Target = Target(y, v, p) } },
        { "use_sni_as_target", (y, v, p, via) => via with { UseSniAsTarget = y.Bool(v, p) } },
        { "target_port", (y, v, p, via) => via with { TargetPort = y.Int(v, p, 1, 65535) } },
        { "connect_timeout", (y, v, p, via) => via with { ConnectTimeout = y.PositiveDuration(v, p) } },
        { "stats_interval", (y, v, p, via) => via with { StatsInterval = y.Duration(v, p) } },
        { "headers", (y, v, p, via) => via with { Headers = Headers(y, v, p) } },
    };

    /// <summary>An empty <c>via:</c> is <see cref="ViaConfig.None"/>.</summary>
    public static ViaConfig Read(YamlNodes y, YamlNode node, string path) => ViaKeys.ReadOptional(y, node, path, ViaConfig.None);

    private static string? Target(YamlNodes y, YamlNode value, string path)
    {
        var target = y.String(value, path);
        if (target.Length == 0) return null; // the seed treats an empty target as "no static target"
        // No port means 443, like target_port's default (the seed README's example has none).
        return Addresses.TryParseConnectTarget(target, 443, out var withPort, out var problem)
            ? withPort
            : throw y.Error(value, path, problem);
    }

    private static ImmutableArray<KeyValuePair<string, string>> Headers(YamlNodes y, YamlNode value, string path)
    {
        var headers = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
        if (y.OptionalMapping(value, path) is { } map)
            foreach (var (name, nameValue, nameNode) in y.Entries(map, path))
            {
                var p = $"{path}.{name}";
                if (!HttpToken.IsToken(name))
                    throw y.Error(nameNode, p, "header name is not a valid HTTP token");
                var text = y.String(nameValue, p);
                if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
                    throw y.Error(nameValue, p, "header value contains CR or LF (after environment substitution)");
                headers.Add(new(name, text));
            }
        return headers.ToImmutable();
    }
}
