using Akka.Actor;
using Akka.IO;

namespace L4P.Connections;

/// <summary>
/// One direction of a relay, owned by the actor registered as handler of <see cref="Source"/>:
/// read a chunk (pull mode), write it to <see cref="Sink"/> with an ack, read again on the ack.
/// At most one chunk is in flight per direction, so memory per connection is bounded by the frame size
/// whatever the peers' speeds. EOF is forwarded as ConfirmedClose, which Akka.IO sends only after the
/// pending writes (half-close). For echo, Source and Sink are the same connection.
/// </summary>
internal sealed class RelayLeg(IActorRef source, IActorRef sink, Action<int> count)
{
    /// <summary>The ack we ask Akka.IO for; one per leg is enough since a leg has one write in flight.</summary>
    internal sealed class Ack : Tcp.Event
    {
        public static readonly Ack Instance = new();
        private Ack() { }
    }

    public IActorRef Source { get; } = source;
    public IActorRef Sink { get; } = sink;
    public bool SourceDone { get; private set; }

    /// <summary>Starts reading the source (pull mode: nothing is read before this).</summary>
    public void Start() => Source.Tell(Tcp.ResumeReading.Instance);

    /// <summary>Writes bytes read before the relay started (a sniffed ClientHello) ahead of everything else.</summary>
    public void StartWith(ByteString initial, IActorRef self)
    {
        if (initial.IsEmpty) Start();
        else
        {
            count(initial.Count);
            Sink.Tell(Tcp.Write.Create(initial, Ack.Instance), self);
        }
    }

    /// <returns>true when the message belonged to this leg. <paramref name="closeReason"/> is set when the source failed.</returns>
    public bool Handle(object message, IActorRef sender, IActorRef self, out string? closeReason)
    {
        closeReason = null;
        switch (message)
        {
            case Tcp.Received r when sender.Equals(Source):
                count(r.Data.Count);
                Sink.Tell(Tcp.Write.Create(r.Data, Ack.Instance), self);
                return true;
            case Ack:
                Source.Tell(Tcp.ResumeReading.Instance);
                return true;
            case Tcp.PeerClosed when sender.Equals(Source):
                // EOF from our peer: pass the FIN on once the writes before it are out.
                SourceDone = true;
                Sink.Tell(Tcp.ConfirmedClose.Instance, self);
                return true;
            case Tcp.ConnectionClosed c when sender.Equals(Source):
                // Source is gone. ConfirmedClosed is also its peer's EOF (Akka.IO sends no PeerClosed after
                // our own ConfirmedClose), so it is forwarded like one; anything else closes the sink.
                SourceDone = true;
                if (!ReferenceEquals(Source, Sink))
                    Sink.Tell(c.IsConfirmed ? Tcp.ConfirmedClose.Instance : Tcp.Close.Instance, self);
                if (c.IsErrorClosed) closeReason = $"reset: {c.Cause}";
                else if (c.IsAborted) closeReason = "aborted";
                return true;
            case Tcp.ConnectionClosed when sender.Equals(Sink):
                // The close we asked of the sink has completed; its owner sees the same event as handler.
                return true;
            case Tcp.CommandFailed f when f.Cmd is Tcp.Write && sender.Equals(Sink):
                // Writing to a sink that is closing: nothing more can be delivered, stop reading.
                Source.Tell(Tcp.Close.Instance, self);
                return true;
            default:
                return false;
        }
    }
}
