using System.Net;

namespace L4P.Connections;

/// <summary>
/// What one client connection did: bytes each way (each counted by its relay leg), when a byte last
/// moved (the idle check) and why it ended, read for the final log line. Counters, not messages, so
/// the relay path sends nothing extra. <paramref name="time"/> is the clock of the idle timeout (the system's by default).
/// </summary>
public sealed class ConnectionStats(Prometheus.Counter.Child? bytesUp = null, Prometheus.Counter.Child? bytesDown = null, TimeProvider? time = null)
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private long _bytesUp;
    private long _bytesDown;
    private CloseReason? _close;
    private long _lastActivity = (time ?? TimeProvider.System).GetTimestamp();

    /// <summary>When a byte last moved either way (a timestamp of the stats' clock), for the idle timeout.</summary>
    public long LastActivity => Volatile.Read(ref _lastActivity);

    public long BytesUp => Volatile.Read(ref _bytesUp);
    public long BytesDown => Volatile.Read(ref _bytesDown);

    public void AddUp(int n)
    {
        Interlocked.Add(ref _bytesUp, n);
        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        bytesUp?.Inc(n);
    }

    public void AddDown(int n)
    {
        Interlocked.Add(ref _bytesDown, n);
        Volatile.Write(ref _lastActivity, _time.GetTimestamp());
        bytesDown?.Inc(n);
    }

    /// <summary>Why the connection ended; the first reason set wins: it is the cause, later ones are consequences.</summary>
    public CloseReason Close => Volatile.Read(ref _close) ?? CloseReason.Ok;

    public void SetClose(CloseCode code, string detail) => SetClose(new CloseReason(code, null, detail));

    public void SetClose(CloseReason reason) => Interlocked.CompareExchange(ref _close, reason, null);

    public EndPoint? UpstreamAddress { get; set; }
}

/// <summary>
/// <see cref="Label"/> is the short stable word (the log's <c>result=</c> and the metrics' <c>result</c> label):
/// <see cref="Code"/>'s, with <see cref="Status"/> (the proxy's HTTP status) for <see cref="CloseCode.ProxyStatus"/>;
/// <see cref="Detail"/> is the sentence for a person (the log's <c>reason=</c>).
/// </summary>
public sealed record CloseReason(CloseCode Code, int? Status, string Detail)
{
    public static readonly CloseReason Ok = new(CloseCode.Ok, null, "-");

    public string Label => Code == CloseCode.ProxyStatus ? $"{CloseCodes.ProxyStatusPrefix}{Status}" : Code.Label();
}
