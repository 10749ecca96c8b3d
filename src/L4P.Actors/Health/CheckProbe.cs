using System.Net;
using System.Text;
using Akka.Actor;
using Akka.IO;
using L4P.Config;

namespace L4P.Health;

/// <summary>
/// One health check of one address, over Akka.IO: connect within the timeout; with <c>send</c>, write
/// it; with <c>expect</c>, read (at most 4 KiB) until the text appears. Reports once, then stops.
/// The probe owns its socket: a connect-only check closes it before registering (until then Akka.IO
/// watches us, the commander); one that registers itself to send or read is the socket's only owner
/// (<see cref="Connections.OwnedConnection"/>), and its PostStop resets it, whatever ended the probe.
/// </summary>
public sealed class CheckProbe : ActorBase, IWithTimers
{
    public sealed record Result(IPEndPoint Endpoint, bool Ok, string Detail);

    private sealed record TimedOut : Signal<TimedOut>;

    private sealed class Sent : Tcp.Event
    {
        public static readonly Sent Instance = new();
    }

    private const int MaxRead = 4096;
    private readonly IPEndPoint _endpoint;
    private readonly HealthCheckConfig _check;
    private readonly IActorRef _tcp;
    private string _received = "";
    private bool _reported;
    private Connections.OwnedConnection? _socket;

    public CheckProbe(IPEndPoint endpoint, HealthCheckConfig check, IActorRef tcpManager)
    {
        _endpoint = endpoint;
        _check = check;
        _tcp = tcpManager;
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(IPEndPoint endpoint, HealthCheckConfig check, IActorRef tcpManager) =>
        Connections.FactoryProps.For(() => new CheckProbe(endpoint, check, tcpManager));

    protected override void PreStart()
    {
        Timers.StartSingleTimer(TimedOut.Instance, TimedOut.Instance, _check.Timeout);
        _tcp.Tell(new Tcp.Connect(_endpoint, null, null, _check.Timeout, pullMode: true));
    }

    protected override void PostStop() => _socket?.AbortUnlessEnded();

    protected override bool AroundReceive(Receive receive, object message)
    {
        _socket?.Observe(message, Sender);
        return base.AroundReceive(receive, message);
    }

    /// <summary>Probing: connect, then send and read as the check says.</summary>
    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Connected when _check.Send is null && _check.Expect is null:
                // Not registered: Akka.IO still watches us (the commander) and takes the Close before Register.
                Sender.Tell(Tcp.Close.Instance);
                Report(true, "connected");
                return true;
            case Tcp.Connected when _socket is not null:
                Sender.Tell(Tcp.Abort.Instance); // cannot happen (one Connect per probe): not ours, not kept
                return true;
            case Tcp.Connected:
                _socket = Connections.OwnedConnection.Register(Sender, Context, keepOpenOnPeerClosed: false);
                // Without expect, the check passes once the kernel has taken what we send (the ack).
                if (_check.Send is { } send) Sender.Tell(Tcp.Write.Create(ByteString.FromString(send, Encoding.UTF8), _check.Expect is null ? Sent.Instance : Tcp.NoAck.Instance));
                if (_check.Expect is not null) Sender.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Sent:
                Report(true, "connected and sent");
                return true;
            case Tcp.Received r:
                _received += r.Data.ToString(Encoding.UTF8);
                // Bounded: at most MaxRead bytes are kept before the probe gives up.
                if (_received.Contains(_check.Expect!, StringComparison.Ordinal)) Report(true, "expected reply");
                else if (_received.Length >= MaxRead) Report(false, $"no '{_check.Expect}' in the first {MaxRead} bytes");
                else Sender.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Tcp.CommandFailed f:
                Report(false, f.Cause.HasValue ? f.Cause.Value.Message : "connect failed");
                return true;
            case Tcp.ConnectionClosed c:
                Report(false, _check.Expect is null ? $"closed: {c.Cause}" : $"closed before '{_check.Expect}'");
                return true;
            case Terminated:
                Report(false, "the probe's connection stopped");
                return true;
            case TimedOut:
                Report(false, $"no answer within {Durations.Format(_check.Timeout)}");
                return true;
            default:
                return false;
        }
    }

    /// <summary>
    /// Reported: a registered socket is closed gracefully (the target sees a FIN, not a reset) and the probe
    /// stops once it has ended, or when the check's timer fires; PostStop resets it if it is still open then.
    /// </summary>
    private bool Closing(object message)
    {
        if (_socket is not { Ended: false } || message is TimedOut) Context.Stop(Self);
        return message is Tcp.Event or Terminated or TimedOut or Sent;
    }

    private void Report(bool ok, string detail)
    {
        if (_reported) return;
        _reported = true;
        Context.Parent.Tell(new Result(_endpoint, ok, detail));
        if (_socket is not { Ended: false })
        {
            Context.Stop(Self);
            return;
        }
        _socket.Socket.Tell(Tcp.Close.Instance);
        Become(Closing);
    }
}
