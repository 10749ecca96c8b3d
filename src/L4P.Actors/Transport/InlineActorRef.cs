using System.Runtime.CompilerServices;
using Akka.Actor;
using Akka.Dispatch.SysMsg;
using Akka.Event;

namespace L4P.Transport;

/// <summary>
/// An actor without a cell or mailbox: a Tell runs <see cref="OnMessage"/> at once on the sender's
/// thread, one message at a time (a lock), as Akka's own PromiseActorRef and FunctionRef run without a
/// cell. Meant for actors whose every message is short non-blocking work (a socket's): it saves an
/// actor's creation and stop (a dozen system messages, the parent's children table) and one thread hop
/// per message, which is most of what a proxied connection cost on top of the kernel.
/// Death watch works both ways, as the Tcp protocol needs: actors may watch it (they get Terminated
/// after every message it told them), and it may watch actors (<see cref="OnWatchedStopped"/>).
/// Every ref has its own uid, so actors comparing senders tell refs apart on the uid alone.
/// </summary>
internal abstract class InlineActorRef : MinimalActorRef
{
    private static long _lastUid;

    private readonly ActorPath _parent;
    private readonly long _uid = Interlocked.Increment(ref _lastUid);
    private ActorPath? _path;

    // Who watches this ref, and whom it watches: usually one or two each, so no set until needed.
    private object? _watchers;
    private object? _watching;
    private bool _stopped;

    /// <summary>Held while a message is handled; completions that touch state take it too.</summary>
    protected readonly Lock Gate = new();

    protected InlineActorRef(IActorRefProvider provider, ActorPath parent)
    {
        Provider = provider;
        _parent = parent;
    }

    public override IActorRefProvider Provider { get; }

    /// <summary>Made on first use (actors comparing senders compare paths), once.</summary>
    public override ActorPath Path => _path ??= new ChildActorPath(_parent, "$" + _uid.ToString(System.Globalization.CultureInfo.InvariantCulture), _uid);

    public override bool IsTerminated => Volatile.Read(ref _stopped);

    public override bool Equals(object? obj) => ReferenceEquals(this, obj);

    public override int GetHashCode() => RuntimeHelpers.GetHashCode(this);

    protected IActorRef DeadLetters => Provider.DeadLetters;

    protected override void TellInternal(object message, IActorRef sender)
    {
        lock (Gate)
        {
            if (!_stopped)
            {
                OnMessage(message, sender ?? DeadLetters);
                return;
            }
        }
        DeadLetters.Tell(new DeadLetter(message, sender ?? DeadLetters, this), sender ?? DeadLetters);
    }

    /// <summary>Handles one message; called under <see cref="Gate"/>, never after <see cref="MarkStopped"/>.</summary>
    protected abstract void OnMessage(object message, IActorRef sender);

    /// <summary>An actor this ref watches has stopped; called under <see cref="Gate"/>.</summary>
    protected abstract void OnWatchedStopped(IActorRef actor);

    public override void Stop() => Tell(PoisonPill.Instance, ActorRefs.NoSender);

    public override void SendSystemMessage(ISystemMessage message)
    {
        switch (message)
        {
            case Watch w when ReferenceEquals(w.Watchee, this):
                bool gone;
                lock (Gate)
                {
                    gone = _stopped;
                    if (!gone) Add(ref _watchers, w.Watcher);
                }
                if (gone) w.Watcher.SendSystemMessage(new DeathWatchNotification(this, existenceConfirmed: true, addressTerminated: false));
                break;
            case Unwatch u when ReferenceEquals(u.Watchee, this):
                lock (Gate) Remove(ref _watchers, u.Watcher);
                break;
            case DeathWatchNotification n:
                lock (Gate)
                {
                    if (_stopped || !Remove(ref _watching, n.Actor)) return;
                    OnWatchedStopped(n.Actor);
                }
                break;
        }
    }

    /// <summary>Watches an actor: <see cref="OnWatchedStopped"/> when it stops (at once if it already has).</summary>
    protected void WatchActor(IActorRef actor)
    {
        if (actor is not IInternalActorRef target || Contains(_watching, actor)) return;
        Add(ref _watching, target);
        target.SendSystemMessage(new Watch(target, this));
    }

    /// <summary>
    /// This ref is done; called under <see cref="Gate"/> after its last Tell to anyone. Watchers get
    /// Terminated behind those messages (an actor queues Terminated as a normal message when it learns).
    /// </summary>
    protected void MarkStopped()
    {
        if (_stopped) return;
        Volatile.Write(ref _stopped, true);
        ForEach(_watching, a => a.SendSystemMessage(new Unwatch(a, this)));
        ForEach(_watchers, w => w.SendSystemMessage(new DeathWatchNotification(this, existenceConfirmed: true, addressTerminated: false)));
        _watching = null;
        _watchers = null;
    }

    // ---- a set of refs that is usually one ref ----

    private static bool Contains(object? set, IActorRef actor) => set switch
    {
        null => false,
        IInternalActorRef one => one.Equals(actor),
        List<IInternalActorRef> many => many.Exists(a => a.Equals(actor)),
        _ => false,
    };

    private static void Add(ref object? set, IInternalActorRef actor)
    {
        switch (set)
        {
            case null:
                set = actor;
                break;
            case IInternalActorRef one when !one.Equals(actor):
                set = new List<IInternalActorRef>(2) { one, actor };
                break;
            case List<IInternalActorRef> many when !many.Exists(a => a.Equals(actor)):
                many.Add(actor);
                break;
        }
    }

    private static bool Remove(ref object? set, IActorRef actor)
    {
        switch (set)
        {
            case IInternalActorRef one when one.Equals(actor):
                set = null;
                return true;
            case List<IInternalActorRef> many:
                return many.RemoveAll(a => a.Equals(actor)) > 0;
            default:
                return false;
        }
    }

    private static void ForEach(object? set, Action<IInternalActorRef> action)
    {
        if (set is IInternalActorRef one) action(one);
        else if (set is List<IInternalActorRef> many)
            foreach (var a in many) action(a);
    }
}
