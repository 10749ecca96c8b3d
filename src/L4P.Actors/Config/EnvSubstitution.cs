using System.Text;

namespace L4P.Config;

/// <summary>
/// <c>${VAR}</c> and <c>$VAR</c> from the environment, <c>$$</c> for a literal dollar.
/// A <c>$</c> followed by anything else stays as written.
/// </summary>
public static class EnvSubstitution
{
    /// <returns>The substituted text, or null with <paramref name="missing"/> naming the first unset variable.</returns>
    public static string? Apply(string text, Func<string, string?> lookup, out string? missing)
    {
        missing = null;
        if (!text.Contains('$')) return text;
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '$' || i + 1 >= text.Length) { sb.Append(c); continue; }
            var next = text[i + 1];
            if (next == '$') { sb.Append('$'); i++; continue; }
            string? name = null;
            var end = i;
            if (next == '{')
            {
                var close = text.IndexOf('}', i + 2);
                if (close > i + 2 && IsName(text.AsSpan(i + 2, close - i - 2)))
                {
                    name = text.Substring(i + 2, close - i - 2);
                    end = close;
                }
            }
            else if (IsNameStart(next))
            {
                var j = i + 1;
                while (j < text.Length && IsNameChar(text[j])) j++;
                name = text.Substring(i + 1, j - i - 1);
                end = j - 1;
            }
            if (name is null) { sb.Append(c); continue; }
            var value = lookup(name);
            if (value is null) { missing = name; return null; }
            sb.Append(value);
            i = end;
        }
        return sb.ToString();
    }

    private static bool IsNameStart(char c) => char.IsAsciiLetter(c) || c == '_';
    private static bool IsNameChar(char c) => char.IsAsciiLetterOrDigit(c) || c == '_';

    private static bool IsName(ReadOnlySpan<char> s)
    {
        if (s.IsEmpty || !IsNameStart(s[0])) return false;
        foreach (var c in s) if (!IsNameChar(c)) return false;
        return true;
    }
}
