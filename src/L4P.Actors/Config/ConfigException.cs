using System.Text;

namespace L4P.Config;

/// <summary>
/// A config problem, already phrased as the one line an operator reads:
/// <c>FILE:LINE:COL: key.path: problem</c>. Values quoted from the file may hold line breaks or
/// control characters (fuzzing found them); they are escaped so the message stays one line.
/// </summary>
public sealed class ConfigException(string message) : Exception(OneLine(message))
{
    private static string OneLine(string s)
    {
        if (!s.Any(char.IsControl)) return s;
        var sb = new StringBuilder(s.Length + 8);
        foreach (var c in s)
            sb.Append(c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) => $"\\x{(int)c:x2}",
                _ => c.ToString(),
            });
        return sb.ToString();
    }
}
