using Akka.Dispatch;

namespace L4P.Transport;

/// <summary>
/// Lets a socket completion run the actors it wakes on its own thread, after it is done, instead of
/// handing each to another pool thread: the completion tells a connection actor <c>Received</c>,
/// the actor writes to the other socket, and all of it happens on the thread that saw the data, as in
/// an event loop. Profiles of the proxy under load showed the kernel's scheduler (threads waking
/// threads) as the largest single cost, ahead of the network stack itself.
/// <para>
/// Completion handlers wrap their work in <see cref="Run"/>; while it runs, a mailbox made runnable on
/// that thread is queued here and run when the handler returns (never inside it, so never under a
/// socket's lock), up to <see cref="Budget"/> runs; anything else goes to the thread pool as usual.
/// </para>
/// </summary>
internal static class InlineExecution
{
    /// <summary>At most this many mailbox runs per completion, so one busy connection cannot hold a socket thread.</summary>
    public const int Budget = 32;

    [ThreadStatic]
    private static Queue<IRunnable>? t_pending;

    [ThreadStatic]
    private static Queue<IRunnable>? t_spare;

    /// <summary>Queues <paramref name="run"/> for the completion running on this thread, if there is one.</summary>
    public static bool TryDefer(IRunnable run)
    {
        if (t_pending is not { } pending) return false;
        pending.Enqueue(run);
        return true;
    }

    /// <summary>Runs a completion handler, then the mailboxes it made runnable.</summary>
    public static void Run<TState>(Action<TState> handler, TState state)
    {
        if (t_pending is not null)
        {
            handler(state); // nested (a completion that finished synchronously): the outer one drains
            return;
        }
        var pending = t_spare ?? new Queue<IRunnable>();
        t_spare = null;
        t_pending = pending;
        try
        {
            handler(state);
            for (var budget = Budget; budget > 0 && pending.TryDequeue(out var run); budget--) run.Run();
        }
        finally
        {
            t_pending = null;
            while (pending.TryDequeue(out var left)) ThreadPoolExecution.Queue(left);
            t_spare = pending;
        }
    }
}

/// <summary>The thread pool, as Akka's default executor uses it.</summary>
internal static class ThreadPoolExecution
{
    public static void Queue(IRunnable run) => ThreadPool.UnsafeQueueUserWorkItem(run, preferLocal: false);
}

/// <summary>
/// Akka's thread-pool executor plus <see cref="InlineExecution"/>; set for the default dispatcher in
/// hocon/l4p.hocon (<c>executor = "L4P.Transport.InlineExecutorConfigurator, L4P.Actors"</c>).
/// </summary>
public sealed class InlineExecutorConfigurator(Akka.Configuration.Config config, IDispatcherPrerequisites prerequisites)
    : ExecutorServiceConfigurator(config, prerequisites)
{
    public override ExecutorService Produce(string id) => new InlineExecutor(id);

    private sealed class InlineExecutor(string id) : ExecutorService(id)
    {
        public override void Execute(IRunnable run)
        {
            if (!InlineExecution.TryDefer(run)) ThreadPoolExecution.Queue(run);
        }

        public override void Shutdown()
        {
        }
    }
}
