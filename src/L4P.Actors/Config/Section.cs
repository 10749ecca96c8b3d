using System.Collections;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary>How an unknown-key message lists a section's keys (kept as the messages have always read).</summary>
internal enum KeyListing
{
    /// <summary><c>expected a, b or c</c>: short lists.</summary>
    Or,

    /// <summary><c>expected one of: a, b, c</c>: long lists.</summary>
    OneOf,
}

/// <summary>
/// One YAML mapping of fixed keys, written as a table: key -> setter that reads the value into a
/// <typeparamref name="T"/> (a record, changed with <c>with</c>). The table is the only list of the keys:
/// <see cref="Read"/> dispatches on it, and the unknown-key message lists its keys in table order.
/// </summary>
/// <param name="listing">How the unknown-key message lists the keys.</param>
/// <param name="anchorHolders">
/// The top level of the seed family's files: an unknown key whose value carries a YAML anchor
/// (<c>via: &amp;corp ...</c>) is only there to be aliased, and is skipped.
/// </param>
internal sealed class Section<T>(KeyListing listing, bool anchorHolders = false) : IEnumerable
{
    public delegate T Setter(YamlNodes y, YamlNode value, string path, T into);

    private readonly Dictionary<string, Setter> setters = new(StringComparer.Ordinal);
    private readonly List<string> listed = [];

    public void Add(string key, Setter set)
    {
        setters.Add(key, set);
        listed.Add(key);
    }

    /// <summary>Another spelling of <paramref name="of"/>: accepted, but not listed in the message.</summary>
    public void Add(string alias, string of) => setters.Add(alias, setters[of]);

    /// <summary>Only for the collection initializer; the keys are listed by <see cref="Expected"/>.</summary>
    IEnumerator IEnumerable.GetEnumerator() => listed.GetEnumerator();

    public T Read(YamlNodes y, YamlMappingNode map, string path, T into)
    {
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = path.Length == 0 ? key : $"{path}.{key}";
            if (setters.TryGetValue(key, out var set)) into = set(y, value, p, into);
            else if (!anchorHolders || value.Anchor.IsEmpty) throw y.Error(keyNode, p, $"unknown key (expected {Expected})");
        }
        return into;
    }

    /// <summary>As <see cref="Read"/>; an empty value (<c>key:</c> with nothing after it) keeps <paramref name="into"/>.</summary>
    public T ReadOptional(YamlNodes y, YamlNode node, string path, T into) =>
        y.OptionalMapping(node, path) is { } map ? Read(y, map, path, into) : into;

    private string Expected => listing == KeyListing.Or
        ? $"{string.Join(", ", listed[..^1])} or {listed[^1]}"
        : $"one of: {string.Join(", ", listed)}" + (anchorHolders ? "; a top-level key that only holds a YAML anchor is allowed" : "");
}
