namespace L4P.Tests.Support;

/// <summary>What /proc says about a process: open descriptors, resident memory, threads.</summary>
public static class ProcessStats
{
    public static int OpenFds(int pid) => Directory.GetFiles($"/proc/{pid}/fd").Length;

    public static long RssKiB(int pid) => Status(pid, "VmRSS:");

    public static long Threads(int pid) => Status(pid, "Threads:");

    private static long Status(int pid, string key)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(key, StringComparison.Ordinal));
        return long.Parse(line[key.Length..].Trim().Split(' ')[0]);
    }

    /// <summary>Waits until the process is back to at most <paramref name="baseline"/> descriptors (sockets close asynchronously).</summary>
    public static async Task<int> WaitFdsAtMostAsync(int pid, int baseline, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int now;
        while ((now = OpenFds(pid)) > baseline && DateTime.UtcNow < deadline) await Task.Delay(100);
        return now;
    }
}
