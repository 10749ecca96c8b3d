using System.Globalization;

namespace L4P.Config;

/// <summary>Human-written durations: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, a bare number is seconds.</summary>
public static class Durations
{
    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        var s = text.Trim();
        if (s.Length == 0) return false;
        var split = 0;
        while (split < s.Length && (char.IsAsciiDigit(s[split]) || s[split] == '.')) split++;
        if (split == 0) return false;
        if (!double.TryParse(s.AsSpan(0, split), NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n)) return false;
        double? ms = s[split..].Trim().ToLowerInvariant() switch
        {
            "" or "s" or "sec" or "secs" or "second" or "seconds" => n * 1000,
            "ms" => n,
            "m" or "min" or "mins" or "minute" or "minutes" => n * 60_000,
            "h" or "hour" or "hours" => n * 3_600_000,
            "d" or "day" or "days" => n * 86_400_000,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds) return false;
        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    /// <summary>The shortest faithful spelling, for logs: <c>30s</c>, <c>500ms</c>.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalMilliseconds % 1000 != 0 ? $"{t.TotalMilliseconds:0}ms"
        : t.TotalSeconds % 60 != 0 || t == TimeSpan.Zero ? $"{t.TotalSeconds:0}s"
        : t.TotalMinutes % 60 != 0 ? $"{t.TotalMinutes:0}m"
        : $"{t.TotalHours:0}h";
}
