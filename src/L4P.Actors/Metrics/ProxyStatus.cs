using L4P.Proxy;

namespace L4P.Metrics;

/// <summary>
/// What the status page needs beyond the metrics: version, uptime and the current generation.
/// Written by ProxyRoot on (re)load, read by health connections; an immutable snapshot behind a volatile field.
/// </summary>
public sealed class ProxyStatus(string version)
{
    private StatusGeneration? _current;

    public string Version { get; } = version;
    public DateTimeOffset StartedAt { get; } = DateTimeOffset.UtcNow;

    public StatusGeneration? Current
    {
        get => Volatile.Read(ref _current);
        set => Volatile.Write(ref _current, value);
    }
}
