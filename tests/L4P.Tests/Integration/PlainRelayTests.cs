using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>Real sockets on loopback: client -> L4P (in process, Akka.IO) -> a real TCP backend.</summary>
public sealed class PlainRelayTests(ITestOutputHelper output)
{
    private static string Config(int listenPort, int upstreamPort, int maxClients = 100) => $"""
        version: 1
        log: debug
        servers:
          plain:
            listen: ["127.0.0.1:{listenPort}"]
            maxclients: {maxClients}
            default: backend
        upstream:
          backend: "tcp://127.0.0.1:{upstreamPort}"
        """;

    [Fact]
    public async Task A_live_connection_is_a_ClientConnection_under_its_listener_supervising_its_upstream_child_and_the_router_was_asked()
    {
        var echoed = new TaskCompletionSource();
        await using var backend = new TcpBackend(async s =>
        {
            var buf = new byte[5];
            await s.ReceiveAsync(buf);
            await s.SendAsync(buf);
            echoed.SetResult();
            await Net.HashToEndAsync(s);
        });
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port), output);
        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        await client.SendAsync("hello"u8.ToArray());
        var back = new byte[5];
        Assert.Equal(5, await client.ReceiveAsync(back));

        var line = await proxy.WaitForLogAsync(l => l.Contains("asked router"));
        var m = System.Text.RegularExpressions.Regex.Match(line, @"connection (\S+) asked router (\S+), supervises upstream connection (\S+) to backend");
        Assert.True(m.Success, line);
        var (connection, router, upstream) = (m.Groups[1].Value, m.Groups[2].Value, m.Groups[3].Value);
        Assert.Matches(@"^akka://l4p-test/user/proxy/root/listen-0/[^/]+$", connection);
        Assert.Equal(connection + "/up", upstream);
        Assert.Equal("akka://l4p-test/user/proxy/root/router-1", router);
        foreach (var path in new[] { connection, upstream, router })
            Assert.NotNull(await Identify(proxy, path)); // all three live while the connection is open

        client.Shutdown(SocketShutdown.Send);
        await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Null(await Identify(proxy, connection));
        Assert.Null(await Identify(proxy, upstream));
    }

    private static async Task<IActorRef?> Identify(InProcessProxy proxy, string path)
    {
        var id = await proxy.System.ActorSelection(path).Ask<ActorIdentity>(new Identify(path), TimeSpan.FromSeconds(5));
        return id.Subject;
    }

    [Fact]
    public async Task Fifty_megabytes_each_way_arrive_intact()
    {
        const long size = 50L * 1024 * 1024;
        var backendGot = new TaskCompletionSource<(long, byte[])>();
        var backendSent = new TaskCompletionSource<byte[]>();
        await using var backend = new TcpBackend(async s =>
        {
            var send = Task.Run(async () =>
            {
                var h = await Net.SendRandomAsync(s, size, seed: 2);
                s.Shutdown(SocketShutdown.Send);
                return h;
            });
            backendGot.SetResult(await Net.HashToEndAsync(s));
            backendSent.SetResult(await send);
        });
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port), output);

        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        var receive = Task.Run(() => Net.HashToEndAsync(client));
        var clientSent = await Net.SendRandomAsync(client, size, seed: 1);
        client.Shutdown(SocketShutdown.Send);

        var (upCount, upHash) = await backendGot.Task.WaitAsync(TimeSpan.FromMinutes(2));
        var (downCount, downHash) = await receive.WaitAsync(TimeSpan.FromMinutes(2));
        Assert.Equal(size, upCount);
        Assert.Equal(clientSent, upHash);
        Assert.Equal(size, downCount);
        Assert.Equal(await backendSent.Task, downHash);

        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Contains($"up={size} down={size}", line);
        Assert.Contains("result=ok", line);
    }

    [Fact]
    public async Task Client_half_close_still_receives_the_whole_answer()
    {
        // The backend reads the request to EOF, then answers: only works if our FIN is forwarded
        // and the other direction stays open.
        await using var backend = new TcpBackend(async s =>
        {
            var request = await Net.ReadToEndAsync(s);
            var answer = Encoding.ASCII.GetBytes($"got {request.Length} bytes: ");
            await s.SendAsync(answer);
            await s.SendAsync(new byte[300_000]);
            s.Shutdown(SocketShutdown.Send);
        });
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port), output);

        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        await client.SendAsync(Encoding.ASCII.GetBytes("hello upstream"));
        client.Shutdown(SocketShutdown.Send);
        var reply = await Net.ReadToEndAsync(client);

        Assert.StartsWith("got 14 bytes: ", Encoding.ASCII.GetString(reply, 0, 14));
        Assert.Equal(14 + 300_000, reply.Length);
    }

    [Fact]
    public async Task Upstream_half_close_still_delivers_what_the_client_sends_after_it()
    {
        // The backend speaks first and half-closes, then reads the client's data to EOF and reports its size
        // out of band.
        var backendRead = new TaskCompletionSource<int>();
        await using var backend = new TcpBackend(async s =>
        {
            await s.SendAsync(Encoding.ASCII.GetBytes("banner"));
            s.Shutdown(SocketShutdown.Send);
            backendRead.SetResult((await Net.ReadToEndAsync(s)).Length);
        });
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port), output);

        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        Assert.Equal("banner", Encoding.ASCII.GetString(await Net.ReadToEndAsync(client)));
        await client.SendAsync(new byte[200_000]);
        client.Shutdown(SocketShutdown.Send);

        Assert.Equal(200_000, await backendRead.Task.WaitAsync(Net.Timeout));
    }

    [Fact]
    public async Task Refused_upstream_closes_the_client_promptly_and_logs_why()
    {
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), TestPorts.Closed()), output);

        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        var started = DateTime.UtcNow;
        Assert.True(await Net.IsClosedByPeerAsync(client, TimeSpan.FromSeconds(3)));
        Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(3));

        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Contains("result=connect_failed", line);
    }

    [Fact]
    public async Task A_server_with_one_KiB_frames_relays_a_large_transfer_both_ways_intact()
    {
        await using var backend = TcpBackend.Echo();
        var yaml = Config(TestPorts.Free(), backend.Endpoint.Port).Replace("maxclients: 100", "maxclients: 100\n    frame_size: 1KiB", StringComparison.Ordinal);
        await using var proxy = await InProcessProxy.StartAsync(yaml, output);

        var payload = new byte[200_000];
        new Random(7).NextBytes(payload);
        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        var reading = Net.ReadExactlyAsync(client, payload.Length);
        await client.SendAsync(payload);
        Assert.Equal(payload, await reading);
    }

    [Fact]
    public async Task Maxclients_closes_the_extra_client_while_the_first_works_and_frees_the_slot()
    {
        await using var backend = TcpBackend.Echo();
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port, maxClients: 1), output);

        using var first = await Net.ConnectAsync(proxy.Listen("plain"));
        await first.SendAsync("one"u8.ToArray());
        Assert.Equal("one", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(first, 3)));

        using (var second = await Net.ConnectAsync(proxy.Listen("plain")))
            Assert.True(await Net.IsClosedByPeerAsync(second, TimeSpan.FromSeconds(3)));
        await proxy.WaitForLogAsync(l => l.Contains("maxclients 1 reached"));

        // The first connection is unaffected.
        await first.SendAsync("two"u8.ToArray());
        Assert.Equal("two", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(first, 3)));
        first.Shutdown(SocketShutdown.Send);
        await Net.ReadToEndAsync(first);
        await proxy.WaitForLogAsync(l => l.Contains("conn server=plain") && l.Contains("up=6"));
        // The listener frees the slot when it sees the connection actor stop (just after the log line).
        var gauge = proxy.Metrics.ActiveConnections.WithLabels("plain", proxy.Listen("plain").ToString());
        for (var i = 0; i < 100 && gauge.Value > 0; i++) await Task.Delay(20);
        Assert.Equal(0, gauge.Value);

        // Slot freed: a new client works.
        using var third = await Net.ConnectAsync(proxy.Listen("plain"));
        await third.SendAsync("three"u8.ToArray());
        Assert.Equal("three", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(third, 5)));
    }

    [Fact]
    public async Task Upstream_reset_mid_stream_closes_the_client_after_the_bytes_already_sent()
    {
        await using var backend = new TcpBackend(async s =>
        {
            await s.SendAsync(new byte[1000]);
            await Task.Delay(200);
            s.LingerState = new LingerOption(true, 0); // close -> RST
            s.Close();
        });
        await using var proxy = await InProcessProxy.StartAsync(Config(TestPorts.Free(), backend.Endpoint.Port), output);

        using var client = await Net.ConnectAsync(proxy.Listen("plain"));
        var got = await Net.ReadToEndAsync(client);
        Assert.Equal(1000, got.Length);
        var line = await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"));
        Assert.Contains("result=upstream_reset", line);
    }
}

public sealed class ClientGoneTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Client_reset_after_half_close_while_upstream_streams_ends_the_pair()
    {
        // Regression: the client half-closes (our FIN goes upstream, Akka.IO then ignores Close on that
        // side), then resets; the upstream keeps streaming. The pair must end, not wait forever.
        var backendDone = new TaskCompletionSource<string>();
        await using var backend = new TcpBackend(async s =>
        {
            await Net.ReadToEndAsync(s);
            try
            {
                for (var i = 0; i < 400; i++)
                {
                    await s.SendAsync(new byte[1000]);
                    await Task.Delay(25);
                }
                backendDone.SetResult("still open after 10s");
            }
            catch (SocketException e) { backendDone.SetResult("closed: " + e.SocketErrorCode); }
        });
        var port = TestPorts.Free();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              plain: { listen: ["127.0.0.1:{{port}}"], default: b }
            upstream:
              b: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """, output);

        var client = await Net.ConnectAsync(proxy.Listen("plain"));
        client.Shutdown(SocketShutdown.Send);
        await Net.ReadExactlyAsync(client, 3000);
        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST

        Assert.StartsWith("closed", await backendDone.Task.WaitAsync(TimeSpan.FromSeconds(15)));
        await proxy.WaitForLogAsync(l => l.Contains("conn server=plain"), TimeSpan.FromSeconds(15));
    }
}
