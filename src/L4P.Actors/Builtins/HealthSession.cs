using Akka.Actor;
using Akka.IO;
using L4P.Connections;
using L4P.Metrics;

namespace L4P.Builtins;

/// <summary>
/// The I/O side of the built-in health endpoint for one client: buffer request bytes (bounded by
/// the parser's head limit), answer one request at a time, read again after the answer is acked.
/// <c>/metrics</c> is rendered off the actor and piped back; nothing is read meanwhile. Each request
/// head must be complete within <paramref name="headDeadline"/> of the start or of the previous answer:
/// a partial one gets 408, a keep-alive connection with none is closed (<paramref name="close"/>: code, reason).
/// With <paramref name="admin"/> it is the admin built-in: every request passes the gate first, and each
/// one refused is counted for <paramref name="server"/>.
/// </summary>
internal sealed class HealthSession(IActorRef connection, ConnectionStats stats, ProxyMetrics metrics, ProxyStatus status, Cluster.FleetView? fleet,
    ITimerScheduler timers, TimeSpan headDeadline, Action<CloseCode, string> close, string server, AdminGate? admin)
{
    internal sealed record HeadTimedOut : Signal<HeadTimedOut>;

    private static readonly byte[] RequestTimeout = "HTTP/1.1 408 Request Timeout\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray();

    private bool _answeredOne;

    private sealed class Ack : Tcp.Event
    {
        public static readonly Ack Instance = new();
    }

    private sealed record Rendered(HealthResponder.Render Render, byte[] Body, bool HeadOnly, bool Close);

    private readonly BoundedBuffer _buffer = new(Protocol.HttpRequestHead.MaxHeadBytes);
    private bool _closeAfterWrite;

    public void Start(ByteString initial, IActorRef self)
    {
        _buffer.Append(initial);
        timers.StartSingleTimer(HeadTimedOut.Instance, HeadTimedOut.Instance, headDeadline);
        AnswerOrRead(self);
    }

    public bool Handle(object message, IActorRef sender, IActorRef self)
    {
        switch (message)
        {
            case Tcp.Received r when sender.Equals(connection):
                stats.AddUp(r.Data.Count);
                _buffer.Append(r.Data);
                AnswerOrRead(self);
                return true;
            case Ack:
                if (_closeAfterWrite) connection.Tell(Tcp.Close.Instance);
                else
                {
                    _answeredOne = true;
                    timers.StartSingleTimer(HeadTimedOut.Instance, HeadTimedOut.Instance, headDeadline);
                    AnswerOrRead(self);
                }
                return true;
            case HeadTimedOut when _buffer.IsEmpty:
                // Nothing of a request: close quietly, as HAProxy does.
                if (_answeredOne) close(CloseCode.HttpKeepAliveTimeout, $"no new request within {Config.Durations.Format(headDeadline)} of the last answer");
                else close(CloseCode.HttpRequestTimeout, $"no request within {Config.Durations.Format(headDeadline)}");
                return true;
            case HeadTimedOut:
                stats.AddDown(RequestTimeout.Length);
                connection.Tell(Tcp.Write.Create(ByteString.FromBytes(RequestTimeout)), self);
                close(CloseCode.HttpRequestTimeout, $"no complete request head within {Config.Durations.Format(headDeadline)} ({_buffer.Count} bytes)");
                return true;
            case Rendered m:
                Send(HealthResponder.Rendered(m.Render, m.Body, m.HeadOnly, m.Close), m.Close, self);
                return true;
            case Status.Failure:
                Send("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), true, self);
                return true;
            case Tcp.PeerClosed when sender.Equals(connection):
                connection.Tell(Tcp.Close.Instance);
                return true;
            default:
                return false;
        }
    }

    private void AnswerOrRead(IActorRef self)
    {
        // The parser answers too large at MaxHeadBytes: it never needs more than the buffer holds.
        var outcome = HealthResponder.Next(_buffer.Span, admin);
        if (outcome.NeedMore)
        {
            connection.Tell(Tcp.ResumeReading.Instance);
            return;
        }
        timers.Cancel(HeadTimedOut.Instance);
        _buffer.Consume(outcome.Consumed);
        if (outcome.Refused is { } refused) metrics.AdminRefused.WithLabels(server, refused.Label()).Inc();
        if (outcome.Render != HealthResponder.Render.None)
        {
            RenderAsync(outcome.Render).PipeTo(self, success: body => new Rendered(outcome.Render, body, outcome.HeadOnly, outcome.Close));
            return;
        }
        Send(outcome.Response, outcome.Close, self);
    }

    /// <summary>Returns the request buffer to the pool: the connection has ended.</summary>
    public void Release() => _buffer.Release();

    private async Task<byte[]> RenderAsync(HealthResponder.Render render)
    {
        if (render == HealthResponder.Render.Cluster)
            return fleet?.ToJson() ?? """{ "enabled": false, "members": [] }"""u8.ToArray();
        return render switch
        {
            HealthResponder.Render.Metrics => await metrics.RenderAsync().ConfigureAwait(false),
            HealthResponder.Render.StatusPage => StatusPage.Build(status, metrics, DateTimeOffset.UtcNow),
            _ => StatusReport.Build(status, metrics, DateTimeOffset.UtcNow),
        };
    }

    private void Send(byte[] response, bool close, IActorRef self)
    {
        _closeAfterWrite = close;
        stats.AddDown(response.Length);
        connection.Tell(Tcp.Write.Create(ByteString.FromBytes(response), Ack.Instance), self);
    }
}
