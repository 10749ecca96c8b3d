using System.Globalization;
using L4P.Connections;

namespace L4P.Proxy;

/// <summary>
/// The process-wide ceiling on live client connections, shared by every <see cref="Listener"/>, so L4P
/// stops taking connections before the kernel runs out of descriptors (as HAProxy derives its maxconn
/// from <c>RLIMIT_NOFILE</c>). Out of descriptors, Akka.IO's listener retries its accepts every 10 ms and
/// the runtime fails wherever it next needs one, which killed the process with every connection on it.
/// Lock-free: a listener takes a slot before it spawns a connection and gives it back when the
/// connection actor stops. The ceiling is <see cref="Derive"/>d from the soft limit, lowered by
/// <c>max_connections</c>, and set again at each config generation.
/// </summary>
public sealed class ConnectionBudget
{
    /// <summary>Descriptors kept free for the runtime, Akka, DNS, health checks and logs, on top of 10% of the limit.</summary>
    public const int RuntimeReserve = 64;

    /// <summary>A proxied connection holds two descriptors: its client and its upstream.</summary>
    public const int DescriptorsPerConnection = 2;

    private readonly Func<long?> _softLimit;
    private readonly Func<int?> _openDescriptors;
    private int? _openAtStart;
    private int _active;
    private int _ceiling = int.MaxValue;
    private int _atCeiling; // 1 from the first refusal until use is back below the low-water mark
    private long _rejected;

    /// <param name="softLimit">Reads the soft RLIMIT_NOFILE (null: none); default <see cref="Descriptors.SoftLimit"/>.</param>
    /// <param name="openDescriptors">Counts the descriptors open now; default <see cref="Descriptors.Open"/>.</param>
    public ConnectionBudget(Func<long?>? softLimit = null, Func<int?>? openDescriptors = null)
    {
        _softLimit = softLimit ?? Descriptors.SoftLimit;
        _openDescriptors = openDescriptors ?? Descriptors.Open;
    }

    /// <summary>Client connections holding a slot now.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>The ceiling in force; null when there is none (limit unreadable or unlimited, no <c>max_connections</c>).</summary>
    public int? Ceiling => Volatile.Read(ref _ceiling) is var c && c == int.MaxValue ? null : c;

    /// <summary>Connections refused at the ceiling since start.</summary>
    public long Rejected => Interlocked.Read(ref _rejected);

    /// <summary>How the ceiling in force was chosen, for log lines.</summary>
    public string Explanation { get; private set; } = "no ceiling";

    /// <summary>
    /// (Re)computes the ceiling for a config generation: <paramref name="listeners"/> listen sockets each
    /// keeping <paramref name="batchAcceptLimit"/> accepts outstanding. The descriptors open the first time
    /// this runs (before any listener is bound: assemblies, the runtime's own) count as the baseline.
    /// </summary>
    public Choice Configure(int? maxConnections, int listeners, int batchAcceptLimit)
    {
        // The limit is read each time (prlimit can change it on a running process); the baseline once.
        var softLimit = _softLimit();
        _openAtStart ??= _openDescriptors() ?? 0;
        var derived = Derive(softLimit, _openAtStart.Value, listeners, batchAcceptLimit);
        var how = softLimit is { } soft
            ? $"RLIMIT_NOFILE soft limit {soft}: {_openAtStart} descriptors open at start, {RuntimeReserve} + 10% kept for the runtime, "
              + $"{batchAcceptLimit} accepts x {listeners} listener(s), {DescriptorsPerConnection} per connection"
            : "RLIMIT_NOFILE unreadable or unlimited";
        Choice choice;
        if (maxConnections is { } max && (derived is null || max <= derived))
            choice = new(max, $"max_connections {max} from the config" + (derived is { } d ? $" ({how} would allow {d})" : ""), Problem: null);
        else if (maxConnections is { } tooMany)
            choice = new(derived, how, $"max_connections {tooMany} is more than the descriptors allow ({how}); using {derived}");
        else if (derived == 0)
            choice = new(0, how, $"no descriptor left for connections ({how}): every connection is refused; raise the limit (LimitNOFILE=)");
        else
            choice = new(derived, how, Problem: null);
        Explanation = choice.Explanation;
        Volatile.Write(ref _ceiling, choice.Ceiling ?? int.MaxValue);
        return choice;
    }

    /// <summary>The ceiling and why; <see cref="Problem"/> is a warning for the operator, if any.</summary>
    public sealed record Choice(int? Ceiling, string Explanation, string? Problem);

    /// <summary>
    /// The ceiling the descriptor limit allows: what is left after the descriptors open at start, the
    /// runtime's reserve (<see cref="RuntimeReserve"/> + 10% of the limit) and one accepted socket per
    /// outstanding accept of each listener (Akka.IO's <c>batch-accept-limit</c>: a socket accepted over
    /// the ceiling holds a descriptor until it is closed), divided by <see cref="DescriptorsPerConnection"/>.
    /// Null without a limit; never negative.
    /// </summary>
    public static int? Derive(long? softLimit, int openAtStart, int listeners, int batchAcceptLimit)
    {
        if (softLimit is not { } soft) return null;
        var left = soft - openAtStart - RuntimeReserve - soft / 10 - (long)batchAcceptLimit * listeners;
        return (int)Math.Clamp(left / DescriptorsPerConnection, 0, int.MaxValue - 1);
    }

    /// <summary>
    /// Takes a slot for a new connection. False at the ceiling; <paramref name="reached"/> is then true
    /// for the first refusal of an episode (log it once).
    /// </summary>
    public bool TryAcquire(out bool reached)
    {
        while (true)
        {
            var active = Volatile.Read(ref _active);
            if (active >= Volatile.Read(ref _ceiling))
            {
                Interlocked.Increment(ref _rejected);
                reached = Interlocked.Exchange(ref _atCeiling, 1) == 0;
                return false;
            }
            if (Interlocked.CompareExchange(ref _active, active + 1, active) == active)
            {
                reached = false;
                return true;
            }
        }
    }

    /// <summary>
    /// Gives a slot back. True when this ends an episode at the ceiling: use is back at or below 90% of it
    /// (a margin, so a flood that keeps the proxy at its ceiling logs once, not once per connection).
    /// </summary>
    public bool Release()
    {
        var active = Interlocked.Decrement(ref _active);
        if (Volatile.Read(ref _atCeiling) == 0) return false;
        var ceiling = Volatile.Read(ref _ceiling);
        return active <= ceiling - Math.Max(1, ceiling / 10) && Interlocked.Exchange(ref _atCeiling, 0) == 1;
    }
}

/// <summary>The soft <c>RLIMIT_NOFILE</c> and the descriptors open now, read from /proc (no P/Invoke); null where unreadable.</summary>
public static class Descriptors
{
    public static long? SoftLimit()
    {
        try
        {
            return ParseSoftLimit(File.ReadAllText("/proc/self/limits"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // not Linux, or /proc not mounted: no ceiling from the limit
        }
    }

    public static int? Open()
    {
        try
        {
            return Directory.GetFileSystemEntries("/proc/self/fd").Length;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>
    /// The soft value of the "Max open files" row of /proc/self/limits
    /// (<c>Max open files            1024                 524288               files</c>); null when the row is
    /// missing, unreadable or "unlimited".
    /// </summary>
    public static long? ParseSoftLimit(string procLimits)
    {
        const string row = "Max open files";
        foreach (var line in procLimits.Split('\n'))
        {
            if (!line.StartsWith(row, StringComparison.Ordinal)) continue;
            var fields = line[row.Length..].Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            return fields.Length > 0 && long.TryParse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture, out var soft) ? soft : null;
        }
        return null;
    }
}
