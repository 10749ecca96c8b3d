using L4P.Proxy;
using L4P.Tests.Support;
using Xunit;

namespace L4P.Tests.Proxy;

/// <summary>The process-wide connection ceiling: /proc parsing, the arithmetic, and the shared counter.</summary>
public sealed class ConnectionBudgetTests
{
    private const string ProcLimits = """
        Limit                     Soft Limit           Hard Limit           Units     
        Max cpu time              unlimited            unlimited            seconds   
        Max file size             unlimited            unlimited            bytes     
        Max processes             63451                63451                processes 
        Max open files            1024                 524288               files     
        Max locked memory         8388608              8388608              bytes     
        Max pending signals       63451                63451                signals   
        """;

    [Fact]
    public void The_soft_limit_is_read_from_the_max_open_files_row()
    {
        Assert.Equal(1024, Descriptors.ParseSoftLimit(ProcLimits));
        Assert.Null(Descriptors.ParseSoftLimit(ProcLimits.Replace("1024                 524288", "unlimited            unlimited", StringComparison.Ordinal)));
        Assert.Null(Descriptors.ParseSoftLimit("Limit Soft Limit Hard Limit Units\nMax processes 10 10 processes\n"));
        Assert.Null(Descriptors.ParseSoftLimit("Max open files"));
        Assert.Null(Descriptors.ParseSoftLimit(""));
    }

    [Fact]
    public async Task This_process_reads_the_same_soft_limit_as_prlimit()
    {
        var (code, stdout, stderr) = await Tools.RunAsync("prlimit", $"--pid {Environment.ProcessId} --nofile --output SOFT --noheadings");
        Assert.True(code == 0, stderr);
        Assert.Equal(long.Parse(stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture), Descriptors.SoftLimit());
        Assert.InRange(Descriptors.Open() ?? 0, 3, int.MaxValue);
    }

    [Fact]
    public void The_ceiling_leaves_the_start_baseline_the_reserve_and_the_outstanding_accepts()
    {
        // (1024 - 181 open - 64 - 102 (10%) - 64 x 2 accepts) / 2 descriptors per connection
        Assert.Equal(274, ConnectionBudget.Derive(1024, 181, 2, 64));
        // The unit's LimitNOFILE=65536 with five listeners.
        Assert.Equal((65536 - 200 - 64 - 6553 - 320) / 2, ConnectionBudget.Derive(65536, 200, 5, 64));
        // More needed than the limit gives: nothing left, not a negative ceiling.
        Assert.Equal(0, ConnectionBudget.Derive(220, 181, 2, 64));
        Assert.Null(ConnectionBudget.Derive(null, 181, 2, 64));
    }

    [Fact]
    public void Max_connections_only_lowers_the_ceiling()
    {
        var opened = 0;
        var budget = new ConnectionBudget(() => 1024, () => ++opened == 1 ? 181 : 900);
        var lower = budget.Configure(100, 2, 64);
        Assert.Equal(100, lower.Ceiling);
        Assert.Null(lower.Problem);
        Assert.Contains("max_connections 100 from the config", lower.Explanation);

        // Above what the descriptors allow: the derived ceiling, and a warning that says so. The
        // baseline stays the first count (900 descriptors later are connections, not the runtime).
        var higher = budget.Configure(5000, 2, 64);
        Assert.Equal(274, higher.Ceiling);
        Assert.Equal(274, budget.Ceiling);
        Assert.Contains("max_connections 5000 is more than the descriptors allow (RLIMIT_NOFILE soft limit 1024: 181 descriptors open at start", higher.Problem);
        Assert.Contains("using 274", higher.Problem);

        Assert.Equal(274, budget.Configure(null, 2, 64).Ceiling);
        var none = new ConnectionBudget(() => 220, () => 181).Configure(null, 2, 64);
        Assert.Equal(0, none.Ceiling);
        Assert.Contains("no descriptor left for connections", none.Problem);
    }

    [Fact]
    public void Without_a_readable_limit_there_is_no_ceiling_unless_configured()
    {
        var budget = new ConnectionBudget(() => null, () => null);
        Assert.Null(budget.Configure(null, 1, 64).Ceiling);
        Assert.Null(budget.Ceiling);
        for (var i = 0; i < 10_000; i++) Assert.True(budget.TryAcquire(out _));
        Assert.Equal(50, budget.Configure(50, 1, 64).Ceiling);
        Assert.False(budget.TryAcquire(out var reached));
        Assert.True(reached);
    }

    [Fact]
    public void An_episode_at_the_ceiling_is_reported_once_and_ends_below_ninety_percent()
    {
        var budget = new ConnectionBudget(() => null, () => null);
        budget.Configure(100, 1, 64);
        for (var i = 0; i < 100; i++) Assert.True(budget.TryAcquire(out _));
        Assert.False(budget.TryAcquire(out var first));
        Assert.True(first);
        Assert.False(budget.TryAcquire(out var second));
        Assert.False(second);
        for (var i = 0; i < 9; i++) Assert.False(budget.Release()); // 99 .. 91 open: still the same episode
        Assert.True(budget.TryAcquire(out _));                    // room again: served
        Assert.False(budget.Release());                           // 91
        Assert.True(budget.Release());                            // 90: the episode ends, once
        Assert.False(budget.Release());
        Assert.Equal(89, budget.Active);
        for (var i = 0; i < 11; i++) Assert.True(budget.TryAcquire(out _));
        Assert.False(budget.TryAcquire(out var again));
        Assert.True(again); // a new episode
        Assert.Equal(3, budget.Rejected);
    }

    [Fact]
    public void Concurrent_listeners_never_take_more_than_the_ceiling()
    {
        var budget = new ConnectionBudget(() => null, () => null);
        budget.Configure(1000, 1, 64);
        int taken = 0, over = 0;
        Parallel.For(0, 8, worker =>
        {
            for (var i = 0; i < 5000; i++)
            {
                if (!budget.TryAcquire(out _)) continue;
                if (Interlocked.Increment(ref taken) > 1000) Interlocked.Increment(ref over);
                if (i % 2 == 0)
                {
                    Interlocked.Decrement(ref taken); // before the slot is free for another thread
                    budget.Release();
                }
            }
        });
        Assert.Equal(0, over);
        Assert.Equal(1000, taken);
        Assert.Equal(1000, budget.Active);
    }
}
