using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;

namespace L4P.Tests.Support;

/// <summary>Small socket helpers for real-socket tests; every wait is bounded.</summary>
public static class Net
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(20);

    public static async Task<Socket> ConnectAsync(IPEndPoint ep)
    {
        var s = new Socket(ep.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(Timeout);
        await s.ConnectAsync(ep, cts.Token);
        return s;
    }

    /// <summary>Reads until EOF (or until the peer resets); returns the bytes.</summary>
    public static async Task<byte[]> ReadToEndAsync(Socket s, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        var ms = new MemoryStream();
        var buf = new byte[65536];
        while (true)
        {
            int n;
            try { n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token); }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.ConnectionReset) { break; }
            if (n == 0) break;
            ms.Write(buf, 0, n);
        }
        return ms.ToArray();
    }

    public static async Task<byte[]> ReadExactlyAsync(Socket s, int count, TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? Timeout);
        var buf = new byte[count];
        var got = 0;
        while (got < count)
        {
            var n = await s.ReceiveAsync(buf.AsMemory(got), SocketFlags.None, cts.Token);
            if (n == 0) throw new EndOfStreamException($"EOF after {got} of {count} bytes");
            got += n;
        }
        return buf;
    }

    /// <summary>True when the peer closes (EOF or reset) within the timeout without sending anything.</summary>
    public static async Task<bool> IsClosedByPeerAsync(Socket s, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buf = new byte[1];
        try
        {
            return await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) == 0;
        }
        catch (SocketException) { return true; }
        catch (OperationCanceledException) { return false; }
    }

    /// <summary>Sends <paramref name="total"/> pseudo-random bytes (seeded) and returns their SHA-256.</summary>
    public static async Task<byte[]> SendRandomAsync(Socket s, long total, int seed)
    {
        var rng = new Random(seed);
        var buf = new byte[64 * 1024];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        for (long sent = 0; sent < total;)
        {
            var n = (int)Math.Min(buf.Length, total - sent);
            rng.NextBytes(buf.AsSpan(0, n));
            sha.AppendData(buf, 0, n);
            await s.SendAsync(buf.AsMemory(0, n), SocketFlags.None, cts.Token);
            sent += n;
        }
        return sha.GetHashAndReset();
    }

    /// <summary>Reads to EOF, hashing as it goes; returns (byte count, SHA-256).</summary>
    public static async Task<(long Count, byte[] Hash)> HashToEndAsync(Socket s)
    {
        var buf = new byte[64 * 1024];
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        long count = 0;
        while (true)
        {
            var n = await s.ReceiveAsync(buf, SocketFlags.None, cts.Token);
            if (n == 0) break;
            sha.AppendData(buf, 0, n);
            count += n;
        }
        return (count, sha.GetHashAndReset());
    }

    /// <summary>One HTTP/1.1 GET with <c>Connection: close</c>; returns the head and the body.</summary>
    public static async Task<(string Head, string Body)> HttpGetAsync(IPEndPoint ep, string path)
    {
        using var c = await ConnectAsync(ep);
        await c.SendAsync(System.Text.Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: l4p\r\nConnection: close\r\n\r\n"));
        var text = System.Text.Encoding.UTF8.GetString(await ReadToEndAsync(c));
        var split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        return split < 0 ? (text, "") : (text[..split], text[(split + 4)..]);
    }
}
