using System.Globalization;

namespace L4P.Tests.Support;

/// <summary>
/// The kernel's TCP sockets (<c>/proc/net/tcp</c> and <c>tcp6</c>) that a process holds (inode not 0:
/// sockets whose descriptor was closed linger there as orphans, with no owner). Counting by port tells
/// the proxy's sockets from the test's own peers, even while other tests run in the same process.
/// </summary>
public static class TcpTable
{
    public readonly record struct Entry(int LocalPort, int RemotePort, int State, long Inode)
    {
        public bool Listening => State == 0x0A;
    }

    public static IReadOnlyList<Entry> Read()
    {
        var entries = new List<Entry>();
        foreach (var file in new[] { "/proc/net/tcp", "/proc/net/tcp6" })
        {
            if (!File.Exists(file)) continue;
            foreach (var line in File.ReadLines(file).Skip(1))
            {
                var f = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                if (f.Length < 10) continue;
                entries.Add(new Entry(Port(f[1]), Port(f[2]), int.Parse(f[3], NumberStyles.HexNumber, CultureInfo.InvariantCulture),
                    long.Parse(f[9], CultureInfo.InvariantCulture)));
            }
        }
        return entries;
    }

    private static int Port(string address) => int.Parse(address[(address.LastIndexOf(':') + 1)..], NumberStyles.HexNumber, CultureInfo.InvariantCulture);

    /// <summary>
    /// Sockets held on the proxy's side of <paramref name="listenPort"/> (accepted, not the listener) and of
    /// <paramref name="upstreamPorts"/> (dialled to them).
    /// </summary>
    public static int ProxySide(int listenPort, params int[] upstreamPorts) =>
        Read().Count(e => e.Inode != 0 && ((e.LocalPort == listenPort && !e.Listening) || upstreamPorts.Contains(e.RemotePort)));
}
