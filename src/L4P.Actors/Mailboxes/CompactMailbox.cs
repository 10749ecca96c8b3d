using Akka.Actor;
using Akka.Dispatch;
using Akka.Dispatch.MessageQueues;

namespace L4P.Mailboxes;

/// <summary>
/// An unbounded mailbox that stays small while empty. Akka's default queue (a ConcurrentQueue) allocates
/// a whole segment per actor up front, and with several actors per proxied connection that segment was
/// the largest part of an idle connection's memory. This one is a small ring under a lock (producers are
/// few per actor and hold it only for a copy): it starts small, doubles when full, and drops a grown
/// array once drained, so an idle actor costs little whatever bursts it has seen.
/// Set for the whole system in hocon/l4p.hocon (<c>akka.actor.default-mailbox.mailbox-type</c>).
/// </summary>
public sealed class CompactMailbox : MailboxType, IProducesMessageQueue<CompactMessageQueue>
{
    public CompactMailbox(Settings settings, Akka.Configuration.Config config) : base(settings, config)
    {
    }

    public override IMessageQueue Create(IActorRef owner, ActorSystem system) => new CompactMessageQueue();
}

/// <summary>The queue of <see cref="CompactMailbox"/>: many producers, one consumer (the mailbox run).</summary>
public sealed class CompactMessageQueue : IMessageQueue, IUnboundedMessageQueueSemantics
{
    private const int Initial = 4;

    private Envelope[] _items = [];
    private int _head;
    private int _count;

    public bool HasMessages => Volatile.Read(ref _count) > 0;

    public int Count => Volatile.Read(ref _count);

    public void Enqueue(IActorRef receiver, Envelope envelope)
    {
        lock (this)
        {
            var items = _items;
            if (_count == items.Length) items = Grow();
            items[(_head + _count) & (items.Length - 1)] = envelope;
            Volatile.Write(ref _count, _count + 1);
        }
    }

    public bool TryDequeue(out Envelope envelope)
    {
        if (Volatile.Read(ref _count) == 0)
        {
            envelope = default;
            return false;
        }
        lock (this)
        {
            if (_count == 0)
            {
                envelope = default;
                return false;
            }
            var items = _items;
            envelope = items[_head];
            items[_head] = default; // let the message go
            _head = (_head + 1) & (items.Length - 1);
            Volatile.Write(ref _count, _count - 1);
            if (_count == 0 && items.Length > Initial)
            {
                _items = new Envelope[Initial]; // a burst does not pin its array for the actor's life
                _head = 0;
            }
            return true;
        }
    }

    private Envelope[] Grow()
    {
        var old = _items;
        var grown = new Envelope[old.Length == 0 ? Initial : old.Length * 2];
        for (var i = 0; i < _count; i++) grown[i] = old[(_head + i) & (old.Length - 1)];
        _items = grown;
        _head = 0;
        return grown;
    }

    public void CleanUp(IActorRef owner, IMessageQueue deadletters)
    {
        while (TryDequeue(out var envelope)) deadletters.Enqueue(owner, envelope);
    }
}
