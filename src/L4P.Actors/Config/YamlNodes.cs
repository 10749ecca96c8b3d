using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary>
/// Typed reads from the YAML tree that fail with one operator-readable line:
/// file, line:column, key path, problem. Every string value passes through env substitution.
/// </summary>
internal sealed class YamlNodes(string file, Func<string, string?> env)
{
    public ConfigException Error(YamlNode? node, string path, string problem)
    {
        var where = node is null ? file : $"{file}:{node.Start.Line}:{node.Start.Column}";
        return new ConfigException(path.Length == 0 ? $"{where}: {problem}" : $"{where}: {path}: {problem}");
    }

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode { Value: null or "" or "~" or "null" } => "nothing (null)",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unknown node",
    };

    public YamlMappingNode Mapping(YamlNode node, string path) =>
        node as YamlMappingNode ?? throw Error(node, path, $"expected a mapping, got {Describe(node)}");

    /// <summary>A mapping, or null for an empty value (<c>key:</c> with nothing after it).</summary>
    public YamlMappingNode? OptionalMapping(YamlNode node, string path) =>
        IsNull(node) ? null : Mapping(node, path);

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: not (YamlDotNet.Core.ScalarStyle.SingleQuoted or YamlDotNet.Core.ScalarStyle.DoubleQuoted) } s
        && s.Value is null or "" or "~" or "null";

    /// <summary>The mapping's entries with scalar keys; duplicate keys are YAML errors already.</summary>
    public IEnumerable<(string Key, YamlNode Value, YamlNode KeyNode)> Entries(YamlMappingNode map, string path)
    {
        foreach (var (k, v) in map.Children)
        {
            if (k is not YamlScalarNode { Value: { } key })
                throw Error(k, path, "keys must be plain strings");
            yield return (key, v, k);
        }
    }

    /// <summary>
    /// The entry under <paramref name="key"/> (its key and value nodes), or nulls: for the checks made after a
    /// <see cref="Section{T}"/> has read the mapping, which point at where the key was written.
    /// </summary>
    public static (YamlNode? Key, YamlNode? Value) Find(YamlMappingNode map, string key)
    {
        foreach (var (k, v) in map.Children)
            if (k is YamlScalarNode { Value: var s } && s == key) return (k, v);
        return (null, null);
    }

    /// <summary><paramref name="node"/> is a mapping that has <paramref name="key"/>.</summary>
    public static bool Has(YamlNode? node, string key) => node is YamlMappingNode map && Find(map, key).Key is not null;

    public string String(YamlNode node, string path)
    {
        if (node is not YamlScalarNode { Value: { } raw } || IsNull(node))
            throw Error(node, path, $"expected a string, got {Describe(node)}");
        var value = EnvSubstitution.Apply(raw, env, out var missing);
        return value ?? throw Error(node, path, $"environment variable '{missing}' is not set");
    }

    public bool Bool(YamlNode node, string path) =>
        String(node, path).ToLowerInvariant() switch
        {
            "true" => true,
            "false" => false,
            _ => throw Error(node, path, $"expected true or false, got {Describe(node)}"),
        };

    public int Int(YamlNode node, string path, int min, int max)
    {
        var s = String(node, path);
        if (!int.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n))
            throw Error(node, path, $"expected a whole number, got {Describe(node)}");
        if (n < min || n > max)
            throw Error(node, path, $"{n} is out of range ({min} to {max})");
        return n;
    }

    /// <summary>A byte count: a whole number of bytes, or with KiB or MiB (4KiB, 32 KiB, 1MiB).</summary>
    public int Size(YamlNode node, string path, int min, int max)
    {
        var s = String(node, path).Trim();
        var (digits, unit) = s.EndsWith("KiB", StringComparison.Ordinal) ? (s[..^3], 1024L)
            : s.EndsWith("MiB", StringComparison.Ordinal) ? (s[..^3], 1024L * 1024)
            : (s, 1L);
        if (!long.TryParse(digits.TrimEnd(), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > int.MaxValue)
            throw Error(node, path, $"expected a size such as 4KiB, 32KiB or 65536 (bytes), got '{s}'");
        var bytes = n * unit;
        if (bytes < min || bytes > max)
            throw Error(node, path, $"'{s}' is out of range ({SizeText(min)} to {SizeText(max)})");
        return (int)bytes;
    }

    private static string SizeText(int bytes) =>
        bytes % (1024 * 1024) == 0 ? $"{bytes / (1024 * 1024)}MiB" : bytes % 1024 == 0 ? $"{bytes / 1024}KiB" : $"{bytes} bytes";

    public TimeSpan Duration(YamlNode node, string path)
    {
        var s = String(node, path);
        if (!Durations.TryParseMilliseconds(s, out var ms))
            throw Error(node, path, $"expected a duration such as 500ms, 30s or 5m, got '{s}'");
        // Refused here rather than by a timer at first use (a lookup, a stop), long after the start.
        if (ms > Durations.Max.TotalMilliseconds)
            throw Error(node, path, $"'{s}' is too long: at most {Durations.MaxText}");
        return TimeSpan.FromMilliseconds(ms);
    }

    public TimeSpan PositiveDuration(YamlNode node, string path)
    {
        var d = Duration(node, path);
        return d > TimeSpan.Zero ? d : throw Error(node, path, "must be greater than 0");
    }

    /// <summary>A list of strings; a single string is taken as a list of one.</summary>
    public List<(string Value, YamlNode Node, string Path)> StringList(YamlNode node, string path)
    {
        if (node is YamlScalarNode && !IsNull(node)) return [(String(node, path), node, path)];
        if (node is not YamlSequenceNode seq) throw Error(node, path, $"expected a list of strings, got {Describe(node)}");
        var list = new List<(string, YamlNode, string)>();
        var i = 0;
        foreach (var item in seq.Children)
        {
            var p = $"{path}[{i++}]";
            list.Add((String(item, p), item, p));
        }
        return list;
    }
}
