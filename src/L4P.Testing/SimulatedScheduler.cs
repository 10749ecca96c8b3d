using Akka.Actor;
using Akka.Dispatch;
using Akka.Event;

namespace L4P.Testing;

/// <summary>
/// Virtual time for an actor system (<c>akka.scheduler.implementation</c>, see <see cref="L4PSimulation.Config"/>):
/// nothing scheduled fires until <see cref="Advance"/>. Unlike Akka.TestKit's TestScheduler, which jumps to the
/// end and fires everything due at once, it fires one due item at a time in time order, with the clock at that
/// item's time, and lets the caller wait until the receiving actor has handled it before the next. So an actor
/// that reacts to a timer by starting another (an idle check that finds recent traffic and looks again later)
/// gets it at the right virtual time, and an advance covers the whole cascade deterministically.
/// The monotonic clocks stay real: the TestKit's own expectation timeouts use them.
/// </summary>
public sealed class SimulatedScheduler : IScheduler, IAdvancedScheduler
{
    private sealed record Item(long Due, long Seq, TimeSpan? Interval, ICanTell? Receiver, object? Message, IActorRef? Sender,
        Action? Action, IRunnable? Runnable, ICancelable? Cancelable);

    private readonly object _lock = new();
    private readonly List<Item> _items = [];
    private DateTimeOffset _now = DateTimeOffset.UtcNow;
    private long _seq;

    /// <summary>The constructor Akka calls for <c>akka.scheduler.implementation</c>; neither argument is used.</summary>
    public SimulatedScheduler(Akka.Configuration.Config schedulerConfig, ILoggingAdapter log) { }

    /// <summary>The virtual now: it moves only in <see cref="Advance"/>.</summary>
    public DateTimeOffset Now
    {
        get
        {
            lock (_lock) return _now;
        }
    }

    private static readonly long Started = System.Diagnostics.Stopwatch.GetTimestamp();

    public TimeSpan MonotonicClock => System.Diagnostics.Stopwatch.GetElapsedTime(Started);

    public TimeSpan HighResMonotonicClock => MonotonicClock;

    public IAdvancedScheduler Advanced => this;

    /// <summary>
    /// Moves the clock forward by <paramref name="by"/>, firing every item due by then (those scheduled meanwhile
    /// too) one at a time, in time order, with the clock at its due time. After each message,
    /// <paramref name="settle"/> (when given) is called with its receiver, to wait until it has been handled.
    /// </summary>
    public void Advance(TimeSpan by, Action<IActorRef>? settle = null)
    {
        DateTimeOffset target;
        lock (_lock) target = _now + (by < TimeSpan.Zero ? TimeSpan.Zero : by);
        while (true)
        {
            Item? next;
            lock (_lock)
            {
                next = _items.Where(i => i.Due <= target.UtcTicks).MinBy(i => (i.Due, i.Seq));
                if (next is null)
                {
                    _now = target;
                    return;
                }
                _items.Remove(next);
                if (next.Due > _now.UtcTicks) _now = new DateTimeOffset(next.Due, TimeSpan.Zero);
                if (next.Cancelable?.IsCancellationRequested == true) continue;
                if (next.Interval is { } interval)
                    _items.Add(next with { Due = next.Due + Math.Max(interval.Ticks, 1), Seq = ++_seq });
            }
            if (next.Receiver is { } receiver)
            {
                receiver.Tell(next.Message!, next.Sender ?? ActorRefs.NoSender);
                if (settle is not null && receiver is IActorRef actor) settle(actor);
            }
            else if (next.Action is { } action) action();
            else next.Runnable!.Run();
        }
    }

    private void Add(TimeSpan delay, TimeSpan? interval, ICanTell? receiver, object? message, IActorRef? sender, Action? action, IRunnable? runnable,
        ICancelable? cancelable)
    {
        lock (_lock)
            _items.Add(new Item((_now + (delay < TimeSpan.Zero ? TimeSpan.Zero : delay)).UtcTicks, ++_seq, interval, receiver, message, sender, action, runnable,
                cancelable));
    }

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender) =>
        Add(delay, null, receiver, message, sender, null, null, null);

    public void ScheduleTellOnce(TimeSpan delay, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(delay, null, receiver, message, sender, null, null, cancelable);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender) =>
        Add(initialDelay, interval, receiver, message, sender, null, null, null);

    public void ScheduleTellRepeatedly(TimeSpan initialDelay, TimeSpan interval, ICanTell receiver, object message, IActorRef sender, ICancelable cancelable) =>
        Add(initialDelay, interval, receiver, message, sender, null, null, cancelable);

    public void ScheduleOnce(TimeSpan delay, Action action) => Add(delay, null, null, null, null, action, null, null);

    public void ScheduleOnce(TimeSpan delay, Action action, ICancelable cancelable) => Add(delay, null, null, null, null, action, null, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action) => Add(initialDelay, interval, null, null, null, action, null, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, Action action, ICancelable cancelable) =>
        Add(initialDelay, interval, null, null, null, action, null, cancelable);

    public void ScheduleOnce(TimeSpan delay, IRunnable action) => Add(delay, null, null, null, null, null, action, null);

    public void ScheduleOnce(TimeSpan delay, IRunnable action, ICancelable cancelable) => Add(delay, null, null, null, null, null, action, cancelable);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action) => Add(initialDelay, interval, null, null, null, null, action, null);

    public void ScheduleRepeatedly(TimeSpan initialDelay, TimeSpan interval, IRunnable action, ICancelable cancelable) =>
        Add(initialDelay, interval, null, null, null, null, action, cancelable);
}
