using System.Net;

namespace L4P.Connections;

/// <summary>
/// What one client connection did, shared by its ClientConnection (writes <see cref="BytesUp"/>)
/// and its UpstreamConnection (writes <see cref="BytesDown"/>): one writer per field, read for the
/// final log line after both actors have stopped. Counters, not messages, so the relay path sends nothing extra.
/// </summary>
public sealed class ConnectionStats
{
    private long _bytesUp;
    private long _bytesDown;
    private string? _closeReason;

    public long BytesUp => Volatile.Read(ref _bytesUp);
    public long BytesDown => Volatile.Read(ref _bytesDown);

    public void AddUp(int n) => Interlocked.Add(ref _bytesUp, n);
    public void AddDown(int n) => Interlocked.Add(ref _bytesDown, n);

    /// <summary>The first reason wins: it is the cause; later ones are consequences.</summary>
    public string? CloseReason => Volatile.Read(ref _closeReason);

    public void SetCloseReason(string reason) => Interlocked.CompareExchange(ref _closeReason, reason, null);

    public EndPoint? UpstreamAddress { get; set; }
}
