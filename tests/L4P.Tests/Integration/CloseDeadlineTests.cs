using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using L4P.Connections;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// A close L4P starts always finishes: when the peer never reads, the pending write would hold the socket
/// (and its maxclients slot) forever, so it is reset after <see cref="ClientConnection.CloseDeadline"/>.
/// </summary>
public sealed class CloseDeadlineTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(1) + ClientConnection.CloseDeadline + TimeSpan.FromSeconds(4);

    /// <summary>A client that writes until its socket blocks and never reads a byte.</summary>
    private static async Task<Socket> StuffedClientAsync(IPEndPoint ep)
    {
        var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 4096, SendBufferSize = 4096 };
        await s.ConnectAsync(ep);
        var chunk = new byte[64 * 1024];
        _ = Task.Run(async () =>
        {
            try
            {
                while (true) await s.SendAsync(chunk);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // reset by the proxy: expected
            }
        });
        return s;
    }

    [Fact]
    public async Task Echo_to_a_client_that_never_reads_ends_after_idle_plus_the_deadline_and_frees_its_slot()
    {
        var port = TestPorts.Free();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              echo: { listen: ["127.0.0.1:{{port}}"], default: echo, maxclients: 1, timeouts: { idle: 1s } }
            """, output);
        var started = Stopwatch.StartNew();
        using var stuck = await StuffedClientAsync(proxy.Listen("echo"));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=echo"), Bound);
        Assert.Contains("result=idle_timeout", line);
        Assert.True(started.Elapsed >= ClientConnection.CloseDeadline, $"ended after {started.Elapsed}: before the deadline");

        // The slot is free again: the next client is echoed.
        await proxy.WaitIdleAsync("echo");
        using var next = await Net.ConnectAsync(proxy.Listen("echo"));
        await next.SendAsync("again"u8.ToArray());
        Assert.Equal("again"u8.ToArray(), await Net.ReadExactlyAsync(next, 5));
    }

    [Fact]
    public async Task A_relay_where_neither_peer_reads_is_reset_both_ways_after_idle_plus_the_deadline()
    {
        var backendReset = new TaskCompletionSource();
        await using var backend = new TcpBackend(async s =>
        {
            s.ReceiveBufferSize = 4096;
            var chunk = new byte[64 * 1024];
            try
            {
                while (true) await s.SendAsync(chunk); // and never reads
            }
            catch (SocketException)
            {
                backendReset.TrySetResult();
            }
        });
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              relay: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: backend, timeouts: { idle: 1s } }
            upstream:
              backend: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """, output);
        using var stuck = await StuffedClientAsync(proxy.Listen("relay"));
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=relay"), Bound);
        Assert.Contains("result=idle_timeout", line);
        await backendReset.Task.WaitAsync(TimeSpan.FromSeconds(5));
    }
}
