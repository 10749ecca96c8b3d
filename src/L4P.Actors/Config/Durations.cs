using System.Globalization;

namespace L4P.Config;

/// <summary>Human-written durations: <c>500ms</c>, <c>30s</c>, <c>5m</c>, <c>1h</c>, <c>1d</c>, a bare number is seconds.</summary>
public static class Durations
{
    /// <summary>
    /// The longest duration a config may give: .NET's timers and cancellation sources (a DNS lookup's
    /// timeout, Akka's Ask, the host's stop) refuse more than 2^32 - 2 ms, about 49.7 days, at first use.
    /// Akka's scheduler takes longer ones, but one limit for every key is simpler to state.
    /// </summary>
    public static readonly TimeSpan Max = TimeSpan.FromMilliseconds(uint.MaxValue - 1);

    /// <summary><see cref="Max"/> for a person, in config error messages.</summary>
    public const string MaxText = "4294967294ms (about 49.7 days, the longest .NET timer)";

    public static bool TryParse(string text, out TimeSpan value)
    {
        value = default;
        if (!TryParseMilliseconds(text, out var ms) || ms > TimeSpan.MaxValue.TotalMilliseconds) return false;
        value = TimeSpan.FromMilliseconds(ms);
        return true;
    }

    /// <summary>The syntax alone: any length, however long (the caller judges the range).</summary>
    public static bool TryParseMilliseconds(string text, out double milliseconds)
    {
        milliseconds = 0;
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
        if (ms is null) return false;
        milliseconds = ms.Value;
        return true;
    }

    /// <summary>The shortest faithful spelling, for logs: <c>30s</c>, <c>500ms</c>.</summary>
    public static string Format(TimeSpan t) =>
        t.TotalMilliseconds % 1000 != 0 ? $"{t.TotalMilliseconds:0}ms"
        : t.TotalSeconds % 60 != 0 || t == TimeSpan.Zero ? $"{t.TotalSeconds:0}s"
        : t.TotalMinutes % 60 != 0 ? $"{t.TotalMinutes:0}m"
        : $"{t.TotalHours:0}h";
}
