using System.Collections.Concurrent;
using Akka.Dispatch;
using L4P.Transport;
using Xunit;

namespace L4P.Tests.Transport;

/// <summary>
/// The event-loop rule of <see cref="InlineExecution"/>: what a completion wakes runs on its thread,
/// after it and never inside it, within a budget; everything else goes to the thread pool.
/// </summary>
public sealed class InlineExecutionTests
{
    private sealed class Recorded(ConcurrentQueue<string> log, string name, Action? then = null) : IRunnable
    {
        public int Thread { get; private set; }

        public void Run()
        {
            Thread = Environment.CurrentManagedThreadId;
            log.Enqueue(name);
            then?.Invoke();
        }

        public void Execute() => Run();
    }

    [Fact]
    public void Outside_a_completion_nothing_is_deferred()
    {
        Assert.False(InlineExecution.TryDefer(new Recorded(new ConcurrentQueue<string>(), "x")));
    }

    [Fact]
    public void Woken_runs_go_after_the_handler_on_its_thread_in_order_including_what_they_wake()
    {
        var log = new ConcurrentQueue<string>();
        Recorded? first = null;
        InlineExecution.Run(_ =>
        {
            var second = new Recorded(log, "second");
            first = new Recorded(log, "first", () => Assert.True(InlineExecution.TryDefer(new Recorded(log, "woken by first"))));
            Assert.True(InlineExecution.TryDefer(first));
            Assert.True(InlineExecution.TryDefer(second));
            // A nested completion (one that finished synchronously) leaves the draining to the outer one.
            InlineExecution.Run(_ => log.Enqueue("nested handler"), 0);
            log.Enqueue("handler done");
        }, 0);
        Assert.Equal(["nested handler", "handler done", "first", "second", "woken by first"], log);
        Assert.Equal(Environment.CurrentManagedThreadId, first!.Thread);
        Assert.False(InlineExecution.TryDefer(new Recorded(log, "after"))); // the completion is over
    }

    [Fact]
    public async Task Beyond_the_budget_the_rest_goes_to_the_thread_pool()
    {
        var log = new ConcurrentQueue<string>();
        var runs = Enumerable.Range(0, InlineExecution.Budget + 5).Select(i => new Recorded(log, $"r{i}")).ToArray();
        InlineExecution.Run(_ =>
        {
            foreach (var r in runs) Assert.True(InlineExecution.TryDefer(r));
        }, 0);
        Assert.Equal(InlineExecution.Budget, log.Count); // these ran inline, before Run returned
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (log.Count < runs.Length && DateTime.UtcNow < deadline) await Task.Delay(10);
        Assert.Equal(runs.Length, log.Count);
        Assert.All(runs.Skip(InlineExecution.Budget), r => Assert.NotEqual(0, r.Thread));
    }
}
