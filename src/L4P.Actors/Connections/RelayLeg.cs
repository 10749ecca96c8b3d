using Akka.Actor;
using Akka.IO;

namespace L4P.Connections;

/// <summary>
/// One direction of a relay, owned by the actor registered as handler of <see cref="Source"/>:
/// read a chunk (pull mode), write it to <see cref="Sink"/> with an ack, read again on the ack.
/// At most one chunk is in flight per direction, so memory per connection is bounded by the frame size
/// whatever the peers' speeds. EOF is forwarded as ConfirmedClose, which Akka.IO sends only after the
/// pending writes (half-close). For echo, Source and Sink are the same connection.
/// The owner must watch both connections and pass every message to each of its legs (a message about
/// one socket may concern both: the source of one leg is the sink of the other).
/// </summary>
internal sealed class RelayLeg
{
    /// <summary>
    /// After the sink has gone, how long the source may take to close by itself before it is aborted.
    /// Akka.IO ignores Close on a connection that is already waiting for its peer's FIN, and a peer
    /// that never sends one would otherwise hold the connection forever.
    /// </summary>
    public static readonly TimeSpan Linger = TimeSpan.FromSeconds(5);

    /// <summary>The ack this leg asks for: one per leg, since a leg has one write in flight and one actor may own two legs.</summary>
    private sealed class Ack : Tcp.Event;

    private sealed class LingerExpired;

    private readonly Ack _ack = new();
    private LingerExpired? _lingerExpired;
    private readonly Action<int> _count;
    private readonly ITimerScheduler _timers;
    private bool _writeInFlight;
    private bool _sinkGone;

    public RelayLeg(IActorRef source, IActorRef sink, Action<int> count, ITimerScheduler timers)
    {
        Source = source;
        Sink = sink;
        _count = count;
        _timers = timers;
    }

    public IActorRef Source { get; }
    public IActorRef Sink { get; }

    /// <summary>The source's peer has sent EOF (or the source is gone).</summary>
    public bool SourceDone { get; private set; }

    public bool SourceStopped { get; private set; }
    public bool SinkStopped { get; private set; }

    /// <summary>Starts reading the source (pull mode: nothing is read before this).</summary>
    public void Start() => Source.Tell(Tcp.ResumeReading.Instance);

    /// <summary>Writes bytes read before the relay started (a sniffed ClientHello) ahead of everything else.</summary>
    public void StartWith(ByteString initial, IActorRef self)
    {
        if (initial.IsEmpty) Start();
        else Write(initial, self);
    }

    /// <returns>true when the message belonged to this leg. <paramref name="closeReason"/> is set when the source failed.</returns>
    public bool Handle(object message, IActorRef sender, IActorRef self, out string? closeReason)
    {
        closeReason = null;
        switch (message)
        {
            case Tcp.Received r when sender.Equals(Source):
                if (_sinkGone) Source.Tell(Tcp.ResumeReading.Instance); // undeliverable: drain it until EOF
                else Write(r.Data, self);
                return true;
            case Ack a when ReferenceEquals(a, _ack):
                _writeInFlight = false;
                Source.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Tcp.PeerClosed when sender.Equals(Source):
                // EOF from our peer: pass the FIN on once the writes before it are out.
                SourceDone = true;
                if (!_sinkGone) Sink.Tell(Tcp.ConfirmedClose.Instance, self);
                return true;
            case Tcp.ConnectionClosed c when sender.Equals(Source):
                // Source is gone. ConfirmedClosed is also its peer's EOF (Akka.IO sends no PeerClosed after
                // our own ConfirmedClose), so it is forwarded like one; anything else closes the sink.
                SourceDone = true;
                if (!ReferenceEquals(Source, Sink) && !_sinkGone)
                    Sink.Tell(c.IsConfirmed ? Tcp.ConfirmedClose.Instance : Tcp.Close.Instance, self);
                if (c.IsErrorClosed) closeReason = c.Cause;
                else if (c.IsAborted) closeReason = "aborted";
                return true;
            case Tcp.ConnectionClosed when sender.Equals(Sink):
                // A close we asked of the sink has completed; its owner handles it as its source.
                return true;
            case Tcp.CommandFailed { Cmd: Tcp.Write } when sender.Equals(Sink):
                // The sink is closing: nothing more can be delivered.
                OnSinkGone();
                return true;
            case Terminated t when t.ActorRef.Equals(Source):
                SourceStopped = true;
                SourceDone = true;
                _timers.Cancel(this);
                if (ReferenceEquals(Source, Sink)) SinkStopped = true;
                return true;
            case Terminated t when t.ActorRef.Equals(Sink):
                SinkStopped = true;
                OnSinkGone();
                return true;
            case LingerExpired l when ReferenceEquals(l, _lingerExpired):
                if (!SourceStopped) Source.Tell(Tcp.Abort.Instance, self);
                return true;
            default:
                return false;
        }
    }

    private void Write(ByteString data, IActorRef self)
    {
        _count(data.Count);
        _writeInFlight = true;
        Sink.Tell(Tcp.Write.Create(data, _ack), self);
    }

    /// <summary>
    /// The other side is gone. A graceful end of the sink implies our source already sent EOF, so Close
    /// only flushes what is pending for the source; otherwise bytes are already lost and the source is
    /// closed, draining (and dropping) what it still sends, and aborted if it will not finish.
    /// </summary>
    private void OnSinkGone()
    {
        if (SourceStopped || _sinkGone) return;
        _sinkGone = true;
        Source.Tell(Tcp.Close.Instance);
        if (_writeInFlight)
        {
            _writeInFlight = false;
            Source.Tell(Tcp.ResumeReading.Instance);
        }
        _timers.StartSingleTimer(this, _lingerExpired = new LingerExpired(), Linger);
    }
}
