using System.Net;
using System.Net.Sockets;
using System.Text;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit.Xunit2;
using L4P.Tests.Support;
using Xunit;

namespace L4P.Tests.AkkaIo;

/// <summary>
/// The Akka.IO behaviours the relay relies on (pull-mode reads, acked writes, half-close, the close and
/// abort events, a stopped handler, Unbind, Connect), checked with real sockets on loopback. They pin
/// down what L4P's connection actors assume of Akka.IO's Tcp protocol, so an Akka.IO upgrade that
/// changes one of them fails here rather than in the relay.
/// </summary>
public sealed class AkkaIoContractTests : TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    private sealed class Ack : Tcp.Event
    {
        public static readonly Ack Instance = new();
    }

    /// <summary>
    /// Binds with Akka.IO, connects a plain client, returns the listener and the connection actor,
    /// registered to <paramref name="handler"/> (the test actor unless given).
    /// </summary>
    private async Task<(IActorRef Listener, IActorRef Connection, Socket Client)> AcceptAsync(IActorRef? handler = null)
    {
        var tcp = Sys.Tcp();
        tcp.Tell(new Tcp.Bind(TestActor, new IPEndPoint(IPAddress.Loopback, 0), pullMode: true));
        var bound = ExpectMsg<Tcp.Bound>(Wait);
        var listener = LastSender;
        var client = await Net.ConnectAsync((IPEndPoint)bound.LocalAddress);
        ExpectMsg<Tcp.Connected>(Wait);
        var connection = LastSender;
        connection.Tell(new Tcp.Register(handler ?? TestActor, keepOpenOnPeerClosed: true));
        return (listener, connection, client);
    }

    private string ReceiveText(IActorRef connection, int count)
    {
        var text = new StringBuilder();
        while (text.Length < count)
        {
            connection.Tell(Tcp.ResumeReading.Instance);
            text.Append(ExpectMsg<Tcp.Received>(Wait).Data.ToString(Encoding.ASCII));
        }
        return text.ToString();
    }

    [Fact]
    public async Task Pull_reads_acked_writes_and_a_half_close_each_way()
    {
        var (_, connection, client) = await AcceptAsync();
        using var _ = client;

        // Nothing is delivered before ResumeReading (pull mode).
        await client.SendAsync("hello"u8.ToArray());
        ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        Assert.Equal("hello", ReceiveText(connection, 5));

        connection.Tell(Tcp.Write.Create(ByteString.FromString("world"), Ack.Instance));
        ExpectMsg<Ack>(Wait);
        Assert.Equal("world", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(client, 5)));

        // The client half-closes: PeerClosed, and the connection still writes.
        client.Shutdown(SocketShutdown.Send);
        connection.Tell(Tcp.ResumeReading.Instance);
        ExpectMsg<Tcp.PeerClosed>(Wait);
        connection.Tell(Tcp.Write.Create(ByteString.FromString("after"), Ack.Instance));
        ExpectMsg<Ack>(Wait);

        // ConfirmedClose sends our FIN after the pending writes; the peer's FIN is already in: done.
        Watch(connection);
        connection.Tell(Tcp.ConfirmedClose.Instance);
        ExpectMsg<Tcp.ConfirmedClosed>(Wait);
        ExpectTerminated(connection, Wait);
        Assert.Equal("after", Encoding.ASCII.GetString(await Net.ReadToEndAsync(client)));
    }

    [Fact]
    public async Task ConfirmedClose_first_then_the_peers_eof_comes_as_ConfirmedClosed()
    {
        var (_, connection, client) = await AcceptAsync();
        using var _ = client;
        Watch(connection);
        connection.Tell(Tcp.ConfirmedClose.Instance);
        Assert.Empty(await Net.ReadToEndAsync(client)); // our FIN
        client.Shutdown(SocketShutdown.Send);
        connection.Tell(Tcp.ResumeReading.Instance);
        ExpectMsg<Tcp.ConfirmedClosed>(Wait); // no PeerClosed before it
        ExpectTerminated(connection, Wait);
    }

    [Fact]
    public async Task Abort_resets_the_peer()
    {
        var (_, connection, client) = await AcceptAsync();
        using var _ = client;
        connection.Tell(Tcp.Abort.Instance);
        ExpectMsg<Tcp.Aborted>(Wait);
        var e = await Assert.ThrowsAsync<SocketException>(async () => await client.ReceiveAsync(new byte[1], SocketFlags.None));
        Assert.Equal(SocketError.ConnectionReset, e.SocketErrorCode);
    }

    [Fact]
    public async Task A_peer_reset_is_ErrorClosed()
    {
        var (_, connection, client) = await AcceptAsync();
        client.LingerState = new LingerOption(true, 0);
        client.Close(); // RST
        await Task.Delay(100);
        connection.Tell(Tcp.ResumeReading.Instance);
        ExpectMsg<Tcp.ErrorClosed>(Wait);
    }

    [Fact]
    public async Task A_connection_whose_handler_stops_closes_its_socket_and_stops()
    {
        var handler = CreateTestProbe();
        var (_, connection, client) = await AcceptAsync(handler.Ref);
        using var _ = client;
        Watch(connection);
        Sys.Stop(handler.Ref);
        ExpectTerminated(connection, Wait);
        Assert.True(await Net.IsClosedByPeerAsync(client, Wait));
    }

    [Fact]
    public async Task Unbind_ends_the_accepted_connections_as_well()
    {
        var (listener, connection, client) = await AcceptAsync();
        using var _ = client;
        Watch(connection);
        listener.Tell(Tcp.Unbind.Instance);
        ExpectMsg<Tcp.Unbound>(Wait);
        // The handler hears Aborted first, except that Akka.IO sometimes stops the connection before it
        // gets to tell (a race inside Akka.IO): the relay must not depend on hearing it.
        var next = ReceiveOne(Wait);
        if (next is Tcp.Aborted) next = ReceiveOne(Wait);
        Assert.Equal(connection, Assert.IsType<Terminated>(next).ActorRef);
        Assert.True(await Net.IsClosedByPeerAsync(client, Wait));
    }

    [Fact]
    public void Connect_reaches_a_listener_and_a_closed_port_fails()
    {
        var tcp = Sys.Tcp();
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        tcp.Tell(new Tcp.Connect(listener.LocalEndpoint, pullMode: true));
        var connected = ExpectMsg<Tcp.Connected>(Wait);
        var remote = (IPEndPoint)connected.RemoteAddress; // Akka.IO's dual-mode socket reports it IPv4-mapped
        Assert.Equal(listener.LocalEndpoint, new IPEndPoint(remote.Address.MapToIPv4(), remote.Port));
        LastSender.Tell(Tcp.Close.Instance);
        ExpectMsg<Tcp.Closed>(Wait);

        tcp.Tell(new Tcp.Connect(new IPEndPoint(IPAddress.Loopback, TestPorts.Closed()), pullMode: true));
        var failed = ExpectMsg<Tcp.CommandFailed>(Wait);
        Assert.IsType<Tcp.Connect>(failed.Cmd);
    }
}
