using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using L4P.Connections;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// Every state of a pair on real sockets, crossed with the endings that reach it. After each: the client
/// sees its connection end, so does the upstream peer when there is one, and the proxy holds no socket on
/// either side (counted in the kernel's table by port) within <see cref="Bound"/> of the ending.
/// </summary>
public sealed class LifecycleMatrixTests(ITestOutputHelper output)
{
    /// <summary>The longest timeout a case waits for (1-2 s) plus the close deadline and linger (5 s) and slack.</summary>
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(10);

    public enum State
    {
        ProxyHeaderPending,
        ClientHelloPending,
        Dialling,
        ConnectPending,
        Relaying,
        ClientHalfClosed,
        UpstreamHalfClosed,
        HealthSession,
        Echo,
    }

    public enum Ending
    {
        ClientFin,
        ClientRst,
        UpstreamFin,
        UpstreamRst,
        Idle,
        OwnTimeout,
        Reload,

        /// <summary>A drain (SIGTERM, the host stopping) whose shutdown_timeout passes, then the actor system stops.</summary>
        DrainTimeout,
        ChildException,
        ConnectionException,
    }

    public static TheoryData<State, Ending> Cases()
    {
        var data = new TheoryData<State, Ending>();
        foreach (var state in Enum.GetValues<State>())
            foreach (var ending in Enum.GetValues<Ending>())
                if (Applies(state, ending)) data.Add(state, ending);
        return data;
    }

    private static bool HasUpstreamPeer(State s) => s is State.ConnectPending or State.Relaying or State.ClientHalfClosed or State.UpstreamHalfClosed;

    private static bool HasChild(State s) => s is State.Dialling or State.ConnectPending or State.Relaying or State.ClientHalfClosed or State.UpstreamHalfClosed;

    /// <summary>
    /// The pairs that end. A FIN in one direction of a relay is a half-close (the next state), not an end: it
    /// ends the pair only when the other direction is closed already.
    /// </summary>
    private static bool Applies(State s, Ending e) => e switch
    {
        Ending.UpstreamFin => s is State.ConnectPending or State.ClientHalfClosed,
        Ending.UpstreamRst => HasUpstreamPeer(s),
        Ending.ChildException => HasChild(s),
        // A FIN is read only where the proxy reads the client: not while it dials or waits for CONNECT (pull
        // mode), where the connect timeout ends the wait (covered by OwnTimeout).
        Ending.ClientFin => s is not (State.Dialling or State.ConnectPending or State.ClientHalfClosed or State.Relaying),
        Ending.OwnTimeout => s is State.ProxyHeaderPending or State.ClientHelloPending or State.Dialling or State.ConnectPending or State.HealthSession,
        Ending.Idle => s is not (State.ProxyHeaderPending or State.ClientHelloPending),
        _ => true,
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Both_peers_see_the_end_and_no_socket_is_left(State state, Ending ending)
    {
        await using var upstream = new Peer(state == State.ConnectPending ? PeerMode.Silent : PeerMode.EchoAndHold);
        using var blackhole = Blackhole.Create();
        var listenPort = TestPorts.Free();
        var upstreamPort = state == State.Dialling ? blackhole.Port : upstream.Port;
        var baseline = TcpTable.ProxySide(listenPort, upstreamPort); // the blackhole's own fillers
        var yaml = Yaml(state, ending, listenPort, upstreamPort);
        var proxy = await InProcessProxy.StartAsync(yaml, output);
        var stopped = false;
        try
        {
            using var client = await Net.ConnectAsync(new IPEndPoint(IPAddress.Loopback, listenPort));
            await Enter(state, client, upstream);
            // A peer cannot tell the proxy has taken the connection in the states where it answers nothing yet.
            var deadline = DateTime.UtcNow + Net.Timeout;
            while (proxy.Metrics.ActiveConnections.WithLabels("s", $"127.0.0.1:{listenPort}").Value < 1 && DateTime.UtcNow < deadline) await Task.Delay(10);
            var ended = Stopwatch.StartNew();
            switch (ending)
            {
                case Ending.ClientFin:
                    client.Shutdown(SocketShutdown.Send);
                    break;
                case Ending.ClientRst:
                    client.LingerState = new LingerOption(true, 0);
                    client.Close();
                    break;
                case Ending.UpstreamFin:
                    upstream.Last.Shutdown(SocketShutdown.Send);
                    break;
                case Ending.UpstreamRst:
                    upstream.Last.LingerState = new LingerOption(true, 0);
                    upstream.Last.Close();
                    break;
                case Ending.Idle or Ending.OwnTimeout:
                    break; // the proxy's own timer
                case Ending.Reload:
                    // The address goes away in the new config: the live connection keeps its generation, then
                    // ends as its client leaves.
                    var moved = yaml.Replace($"127.0.0.1:{listenPort}", $"127.0.0.1:{TestPorts.Free()}", StringComparison.Ordinal);
                    var reloaded = await proxy.Proxy.ReloadAsync(L4P.Config.ConfigLoader.Parse(moved, "reload.yaml", _ => null));
                    Assert.Equal(L4P.Proxy.ReloadOutcome.Applied, reloaded.Outcome);
                    client.Close();
                    break;
                case Ending.DrainTimeout:
                    Assert.False(await proxy.Proxy.DrainAsync(TimeSpan.FromMilliseconds(300)), "the drain ended by itself: the connection was not live");
                    stopped = true;
                    await proxy.DisposeAsync();
                    break;
                case Ending.ChildException:
                    proxy.System.ActorSelection("/user/proxy/root/listen-0/*/up").Tell(new InjectedFault("matrix"));
                    break;
                case Ending.ConnectionException:
                    proxy.System.ActorSelection("/user/proxy/root/listen-0/*").Tell(new InjectedFault("matrix"));
                    break;
            }
            if (client.Connected && ending is not (Ending.ClientRst or Ending.Reload))
                Assert.True(await ClosedAsync(client, Bound), $"{state}/{ending}: the client's connection did not end within {Bound}");
            if (HasUpstreamPeer(state) && upstream.Accepted > 0 && ending is not Ending.UpstreamRst)
                Assert.True(await ClosedAsync(upstream.Last, Bound), $"{state}/{ending}: the upstream's connection did not end within {Bound}");
            client.Close();
            upstream.CloseAll();
            var left = await WaitAsync(() => TcpTable.ProxySide(listenPort, upstreamPort) - baseline, Bound - ended.Elapsed + TimeSpan.FromSeconds(2));
            Assert.True(left == 0, $"{state}/{ending}: the proxy still holds {left} socket(s) after {ended.Elapsed.TotalSeconds:0.0}s");
        }
        finally
        {
            if (!stopped) await proxy.DisposeAsync();
        }
    }

    [Fact]
    public async Task Health_probes_that_send_and_expect_close_every_socket_they_open()
    {
        await using var target = new Peer(PeerMode.EchoAndHold); // echoes PING, so expect: PING passes
        var listenPort = TestPorts.Free();
        await using var proxy = await InProcessProxy.StartAsync($$"""
            version: 1
            servers:
              s: { listen: ["127.0.0.1:{{listenPort}}"], default: pool }
            upstream:
              pool:
                targets: ["tcp://127.0.0.1:{{target.Port}}"]
                check: { interval: 100ms, timeout: 1s, send: "PING", expect: "PING" }
            """, output);
        var deadline = DateTime.UtcNow + Net.Timeout;
        while (target.Accepted < 15 && DateTime.UtcNow < deadline) await Task.Delay(50);
        Assert.True(target.Accepted >= 15, $"only {target.Accepted} probes in {Net.Timeout}");
        // At most the probe in flight is open: before the fix every probe's socket stayed open.
        var held = TcpTable.ProxySide(listenPort, target.Port);
        Assert.True(held <= 1, $"{held} probe sockets open after {target.Accepted} probes");
        Assert.DoesNotContain(proxy.Logs.Lines, l => l.Contains("is down", StringComparison.Ordinal));
    }

    private static string Yaml(State state, Ending ending, int listen, int upstreamPort)
    {
        var idle = ending == Ending.Idle ? "1s" : "30s";
        var timeouts = $"timeouts: {{ idle: {idle}, client_hello: 1s, connect: 2s, http_request: 1s }}";
        var server = state switch
        {
            State.ProxyHeaderPending => "accept_proxy: true\n    default: echo",
            State.ClientHelloPending => "tls: true\n    default: echo",
            State.Dialling => "default: up",
            State.ConnectPending => "default: up\n    via: { target: \"inside.test:443\", connect_timeout: 2s }",
            State.HealthSession => "default: health",
            State.Echo => "default: echo",
            _ => "default: up",
        };
        return $"""
            version: 1
            servers:
              s:
                listen: ["127.0.0.1:{listen}"]
                {timeouts}
                {server}
            upstream:
              up: "tcp://127.0.0.1:{upstreamPort}"
            """;
    }

    /// <summary>Brings the pair into <paramref name="state"/>; returns once it is there (as far as a peer can tell).</summary>
    private static async Task Enter(State state, Socket client, Peer upstream)
    {
        switch (state)
        {
            case State.ProxyHeaderPending:
                await client.SendAsync("PROXY TCP4 "u8.ToArray());
                break;
            case State.ClientHelloPending:
                await client.SendAsync(HelloBuilder.Hello("a.test")[..10]);
                break;
            case State.Dialling:
                await Task.Delay(200); // the dial is out, and hangs
                break;
            case State.ConnectPending:
                await upstream.WaitAcceptedAsync();
                await upstream.WaitReceivedAsync("CONNECT inside.test:443");
                break;
            case State.Relaying or State.ClientHalfClosed or State.UpstreamHalfClosed:
                await client.SendAsync("ping"u8.ToArray());
                Assert.Equal("ping", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(client, 4)));
                if (state == State.ClientHalfClosed)
                {
                    client.Shutdown(SocketShutdown.Send);
                    await upstream.WaitEofAsync();
                }
                if (state == State.UpstreamHalfClosed)
                {
                    upstream.Last.Shutdown(SocketShutdown.Send);
                    Assert.Equal(0, await client.ReceiveAsync(new byte[1])); // the FIN passed on
                }
                break;
            case State.HealthSession:
                await client.SendAsync("GET /health HTTP/1.1\r\n"u8.ToArray());
                break;
            case State.Echo:
                await client.SendAsync("x"u8.ToArray());
                Assert.Equal("x", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(client, 1)));
                break;
        }
    }

    /// <summary>True once the peer's side has ended (EOF or reset) within <paramref name="timeout"/>; bytes before that are drained.</summary>
    private static async Task<bool> ClosedAsync(Socket s, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var buf = new byte[4096];
        try
        {
            while (await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) > 0) { }
            return true;
        }
        catch (SocketException)
        {
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private static async Task<int> WaitAsync(Func<int> count, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int n;
        while ((n = count()) > 0 && DateTime.UtcNow < deadline) await Task.Delay(50);
        return n;
    }

    private enum PeerMode
    {
        /// <summary>Echoes; on EOF keeps its side open (a half-closed pair stays half-closed).</summary>
        EchoAndHold,

        /// <summary>Reads and never answers: an upstream that hangs, or a CONNECT proxy that never replies.</summary>
        Silent,
    }

    /// <summary>An upstream on loopback that keeps its accepted sockets for the test to end or check.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly ConcurrentQueue<Socket> _accepted = new();
        private readonly StringBuilder _received = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _loop;
        private volatile bool _eof;

        public Peer(PeerMode mode)
        {
            _listener.Start();
            _loop = Task.Run(async () =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    Socket s;
                    try { s = await _listener.AcceptSocketAsync(_stop.Token); }
                    catch (Exception e) when (e is OperationCanceledException or SocketException) { break; }
                    _accepted.Enqueue(s);
                    Last = s;
                    _ = Task.Run(() => Serve(s, mode));
                }
            });
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;
        public int Accepted => _accepted.Count;
        public Socket Last { get; private set; } = null!;

        private async Task Serve(Socket s, PeerMode mode)
        {
            var buf = new byte[65536];
            try
            {
                int n;
                while ((n = await s.ReceiveAsync(buf, SocketFlags.None, _stop.Token)) > 0)
                {
                    lock (_received) _received.Append(Encoding.ASCII.GetString(buf, 0, n));
                    if (mode == PeerMode.EchoAndHold) await s.SendAsync(buf.AsMemory(0, n));
                }
                _eof = true;
            }
            catch (Exception e) when (e is SocketException or OperationCanceledException or ObjectDisposedException)
            {
                // the test ended it
            }
        }

        public async Task WaitAcceptedAsync()
        {
            var deadline = DateTime.UtcNow + Net.Timeout;
            while (Accepted == 0 && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(Accepted > 0, "the proxy never dialled the upstream");
        }

        public async Task WaitReceivedAsync(string text)
        {
            var deadline = DateTime.UtcNow + Net.Timeout;
            bool Has()
            {
                lock (_received) return _received.ToString().Contains(text, StringComparison.Ordinal);
            }
            while (!Has() && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(Has(), $"the upstream never received {text}");
        }

        public async Task WaitEofAsync()
        {
            var deadline = DateTime.UtcNow + Net.Timeout;
            while (!_eof && DateTime.UtcNow < deadline) await Task.Delay(10);
            Assert.True(_eof, "the client's FIN never reached the upstream");
        }

        public void CloseAll()
        {
            foreach (var s in _accepted) s.Dispose();
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _loop;
            CloseAll();
        }
    }

    /// <summary>A loopback address whose connects hang: a listener with a full accept queue drops further SYNs.</summary>
    private sealed class Blackhole : IDisposable
    {
        private readonly Socket _listener;
        private readonly List<Socket> _fillers = [];

        private Blackhole(Socket listener) => _listener = listener;

        public int Port => ((IPEndPoint)_listener.LocalEndPoint!).Port;

        public static Blackhole Create()
        {
            var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(0);
            var hole = new Blackhole(listener);
            for (var i = 0; i < 3; i++)
            {
                var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
                try { s.Connect(listener.LocalEndPoint!); }
                catch (SocketException) { } // in progress
                hole._fillers.Add(s);
            }
            Thread.Sleep(50);
            return hole;
        }

        public void Dispose()
        {
            foreach (var s in _fillers) s.Dispose();
            _listener.Dispose();
        }
    }
}
