using System.Globalization;
using System.Text;

namespace L4P.Protocol;

/// <summary>
/// Peer-supplied text (a proxy's status line, an SNI, bytes of a PROXY header) made safe for a log
/// line or a JSON string: printable ASCII stays as it is, except <c>"</c> and <c>\</c>; everything else
/// (control bytes such as ESC or CR, non-ASCII) becomes <c>\xNN</c>, or <c>\uNNNN</c> above U+00FF. So a
/// hostile peer can neither forge a <c>key=value</c> field, end a quoted one, nor write terminal escapes.
/// </summary>
public static class LogText
{
    /// <summary>The text escaped; the same instance when nothing needed escaping (the usual case).</summary>
    public static string Escape(string text)
    {
        var i = 0;
        while (i < text.Length && IsKept(text[i])) i++;
        if (i == text.Length) return text;
        var sb = new StringBuilder(text.Length + 16);
        sb.Append(text, 0, i);
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (IsKept(c)) sb.Append(c);
            else if (c <= '\u00FF') sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
            else sb.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture));
        }
        return sb.ToString();
    }

    /// <summary>Raw bytes, one character per byte (Latin-1), escaped; at most <paramref name="max"/> bytes, "..." marks a cut.</summary>
    public static string Escape(ReadOnlySpan<byte> bytes, int max = int.MaxValue) =>
        bytes.Length > max ? Escape(Encoding.Latin1.GetString(bytes[..max])) + "..." : Escape(Encoding.Latin1.GetString(bytes));

    private static bool IsKept(char c) => c is >= ' ' and <= '~' and not '"' and not '\\';
}
