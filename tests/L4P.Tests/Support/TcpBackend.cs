using System.Net;
using System.Net.Sockets;

namespace L4P.Tests.Support;

/// <summary>A real TCP server on loopback running a handler for each accepted socket.</summary>
public sealed class TcpBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<Task> _handlers = [];
    private int _accepted;

    public IPEndPoint Endpoint => (IPEndPoint)_listener.LocalEndpoint;
    public int Accepted => Volatile.Read(ref _accepted);

    public TcpBackend(Func<Socket, Task> handler, IPAddress? address = null, int port = 0)
    {
        _listener = new TcpListener(address ?? IPAddress.Loopback, port);
        _listener.Start();
        _loop = Task.Run(async () =>
        {
            while (!_stop.IsCancellationRequested)
            {
                Socket s;
                try { s = await _listener.AcceptSocketAsync(_stop.Token); }
                catch (OperationCanceledException) { break; }
                catch (SocketException) { break; }
                Interlocked.Increment(ref _accepted);
                lock (_handlers)
                    _handlers.Add(Task.Run(async () =>
                    {
                        using (s)
                        {
                            try { await handler(s); }
                            catch (Exception e) when (e is SocketException or OperationCanceledException or IOException) { }
                        }
                    }));
            }
        });
    }

    /// <summary>
    /// Sends its name at once so a test sees which backend it reached; then, with <paramref name="repeat"/>,
    /// the name again every interval (for 30 s at most), else it holds the connection until the client leaves.
    /// </summary>
    public static TcpBackend Named(string name, IPAddress? address = null, int port = 0, TimeSpan? repeat = null) => new(async s =>
    {
        var word = System.Text.Encoding.ASCII.GetBytes(name);
        await s.SendAsync(word);
        if (repeat is { } every)
            for (var sent = TimeSpan.Zero; sent < TimeSpan.FromSeconds(30); sent += every)
            {
                await Task.Delay(every);
                await s.SendAsync(word);
            }
        else await Net.ReadToEndAsync(s, TimeSpan.FromSeconds(60));
    }, address, port);

    /// <summary>Echoes until EOF, then half-closes.</summary>
    public static TcpBackend Echo() => new(async s =>
    {
        var buf = new byte[65536];
        int n;
        while ((n = await s.ReceiveAsync(buf)) > 0) await s.SendAsync(buf.AsMemory(0, n));
        s.Shutdown(SocketShutdown.Send);
    });

    public async ValueTask DisposeAsync()
    {
        _stop.Cancel();
        _listener.Stop();
        await _loop;
        Task[] pending;
        lock (_handlers) pending = [.. _handlers];
        await Task.WhenAny(Task.WhenAll(pending), Task.Delay(5000));
    }
}
