namespace L4P.Metrics;

/// <summary>
/// The sockets this process holds, read from <c>/proc/self/fd</c> (Linux): listeners, both sides of every
/// pair, health probes, DNS and cluster sockets alike. Beside <c>l4p_active_connections</c> it shows a
/// leak in production: sockets that outlive the connections they served.
/// </summary>
public static class OpenSockets
{
    private const string FdDirectory = "/proc/self/fd";

    /// <summary>The number of open sockets; null where /proc is not there to tell.</summary>
    public static int? Count()
    {
        if (!Directory.Exists(FdDirectory)) return null;
        var sockets = 0;
        try
        {
            foreach (var fd in Directory.EnumerateFileSystemEntries(FdDirectory))
            {
                try
                {
                    if (new FileInfo(fd).LinkTarget is { } target && target.StartsWith("socket:", StringComparison.Ordinal)) sockets++;
                }
                catch (IOException)
                {
                    // closed between listing and reading: not open any more
                }
            }
        }
        catch (IOException)
        {
            return null;
        }
        return sockets;
    }
}
