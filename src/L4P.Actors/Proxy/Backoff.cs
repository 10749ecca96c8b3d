namespace L4P.Proxy;

/// <summary>
/// Restart delays for a long-lived child that died: 1 s, doubling to at most 30 s, back to 1 s once a
/// restart has lived <see cref="Max"/>. A child that fails at once every time (a bug, a bad config)
/// is retried slowly instead of in a tight loop; one that fails rarely comes back quickly.
/// </summary>
internal sealed class Backoff(TimeProvider time)
{
    public static readonly TimeSpan Min = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan Max = TimeSpan.FromSeconds(30);

    private readonly Dictionary<string, (TimeSpan Delay, long Started)> _children = [];

    /// <summary>The child <paramref name="name"/> was (re)started now.</summary>
    public void Started(string name)
    {
        var delay = _children.TryGetValue(name, out var last) ? last.Delay : TimeSpan.Zero;
        _children[name] = (delay, time.GetTimestamp());
    }

    /// <summary>The child <paramref name="name"/> died: how long to wait before starting it again.</summary>
    public TimeSpan Next(string name)
    {
        if (!_children.TryGetValue(name, out var last) || time.GetElapsedTime(last.Started) >= Max) last = (TimeSpan.Zero, 0);
        var delay = last.Delay == TimeSpan.Zero ? Min : TimeSpan.FromTicks(Math.Min(last.Delay.Ticks * 2, Max.Ticks));
        _children[name] = (delay, last.Started);
        return delay;
    }
}
