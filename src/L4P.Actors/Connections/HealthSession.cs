using Akka.Actor;
using Akka.IO;
using L4P.Builtins;

namespace L4P.Connections;

/// <summary>
/// The I/O side of the built-in health endpoint for one client: buffer request bytes (bounded by
/// the parser's head limit), answer one request at a time, read again after the answer is acked.
/// </summary>
internal sealed class HealthSession(IActorRef connection, ConnectionStats stats)
{
    private sealed class Ack : Tcp.Event
    {
        public static readonly Ack Instance = new();
    }

    private ByteString _buffer = ByteString.Empty;
    private bool _closeAfterWrite;

    public void Start(ByteString initial, IActorRef self)
    {
        _buffer = initial;
        AnswerOrRead(self);
    }

    public bool Handle(object message, IActorRef sender, IActorRef self)
    {
        switch (message)
        {
            case Tcp.Received r when sender.Equals(connection):
                stats.AddUp(r.Data.Count);
                _buffer = _buffer.IsEmpty ? r.Data : _buffer.Concat(r.Data);
                AnswerOrRead(self);
                return true;
            case Ack:
                if (_closeAfterWrite) connection.Tell(Tcp.Close.Instance);
                else AnswerOrRead(self);
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
        var outcome = HealthResponder.Next(_buffer.ToArray());
        if (outcome.NeedMore)
        {
            connection.Tell(Tcp.ResumeReading.Instance);
            return;
        }
        _buffer = _buffer.Slice(outcome.Consumed);
        _closeAfterWrite = outcome.Close;
        stats.AddDown(outcome.Response.Length);
        connection.Tell(Tcp.Write.Create(ByteString.FromBytes(outcome.Response), Ack.Instance), self);
    }
}
