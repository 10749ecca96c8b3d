using System.Diagnostics;
using System.Net;
using System.Text;
using Akka.Actor;
using Akka.IO;
using Akka.TestKit;
using Xunit.Sdk;

namespace L4P.Testing;

/// <summary>
/// One simulated socket as the proxy sees it: a TestProbe standing for the Akka.IO connection actor, played
/// by the test from the peer's side. It keeps Akka.IO's pull-mode contract, so a test exercises the proxy's
/// flow control as a real socket would: bytes the peer sends are delivered only when the proxy has asked to
/// read (<c>ResumeReading</c>), and each write of the proxy is acknowledged only when the peer has read it.
/// The relay keeps one chunk in flight per direction, so the proxy reads a side again only after the other
/// side has read the previous chunk. Every wait is a TestKit expectation with its default timeout.
/// It also keeps Akka.IO 1.5's death watch as it is, quirk included: the socket watches its commander
/// (the listener for an accepted one, the dialler for a dialled one) until <c>Register</c>, then the
/// handler instead; when handler and commander are the same actor, nothing watches it any more. A
/// watched actor's death closes the socket; an unwatched handler's death leaves it open for good, which
/// <see cref="L4PSimulation.ExpectNoLeakedSockets"/> (and disposing the simulation) reports as a leak.
/// </summary>
public abstract class SimulatedConnection
{
    private readonly TestProbe _socket;
    private readonly List<(byte[] Data, Tcp.Event Ack, IActorRef Sender)> _unread = [];
    private readonly List<string> _seen = [];
    private int _consumed; // bytes of _unread[0] already read
    private bool _readRequested;
    private bool _stopped;
    private readonly IActorRef _commander;
    private bool _handlerWatched;
    private string? _diedWith;

    private protected SimulatedConnection(TestProbe socket, IActorRef commander)
    {
        _socket = socket;
        _commander = commander;
        socket.Watch(commander);
    }

    /// <summary>
    /// Set when the actor that owns this socket died and Akka.IO would not close it (it was not watching):
    /// the socket stays open with nobody to close it. Null while that has not happened.
    /// </summary>
    public string? Leaked => _stopped || CloseRequested is not null ? null : _diedWith;

    /// <summary>Takes what the proxy has sent this socket so far, without waiting, then says whether it leaked (see <see cref="Leaked"/>).</summary>
    internal string? CheckLeak(TimeSpan grace)
    {
        // A dying owner's PostStop close can reach the probe just after its death notice: wait a little for it.
        var deadline = Stopwatch.GetTimestamp() + (long)(grace.TotalSeconds * Stopwatch.Frequency);
        while (!_stopped && CloseRequested is null)
        {
            var left = TimeSpan.FromSeconds((double)(deadline - Stopwatch.GetTimestamp()) / Stopwatch.Frequency);
            if (!_socket.TryReceiveOne(out var envelope, _diedWith is null || left <= TimeSpan.Zero ? TimeSpan.Zero : left)) break;
            Handle(envelope.Message, envelope.Sender);
        }
        return Leaked is { } how ? $"{Name}: {how}" : null;
    }

    /// <summary>What failure messages call it, e.g. <c>client 203.0.113.9:5555</c>.</summary>
    public abstract string Name { get; }

    /// <summary>The proxy's actor that registered as this socket's handler (null until it has).</summary>
    public IActorRef? Handler { get; private set; }

    /// <summary>The close the proxy asked for (Close, ConfirmedClose or Abort), once an expectation on this socket has seen it.</summary>
    public Tcp.CloseCommand? CloseRequested { get; private set; }

    /// <summary>The probe that stands for this socket, for checks beyond this class.</summary>
    public TestProbe Socket => _socket;

    /// <summary>Sends <paramref name="data"/> to the proxy once it asks to read (a pull-mode read delivers one chunk).</summary>
    public void Send(byte[] data)
    {
        AwaitRead($"to read the {data.Length} bytes sent");
        _socket.Send(Handler!, new Tcp.Received(ByteString.CopyFrom(data)));
    }

    /// <summary>Sends <paramref name="text"/> as UTF-8.</summary>
    public void Send(string text) => Send(Encoding.UTF8.GetBytes(text));

    /// <summary>Reads exactly <paramref name="expected"/> from what the proxy wrote to this socket (across writes), acknowledging each write once read whole.</summary>
    public void ExpectReceived(byte[] expected)
    {
        Pump(() => Unread >= expected.Length, $"{expected.Length} bytes from the proxy ({Unread} unread so far)");
        var got = Take(expected.Length);
        if (!got.AsSpan().SequenceEqual(expected))
            throw new XunitException($"{Name}: expected to receive {Show(expected)} but the proxy wrote {Show(got)}");
    }

    /// <summary>Reads exactly <paramref name="expected"/> (UTF-8) from what the proxy wrote.</summary>
    public void ExpectReceived(string expected) => ExpectReceived(Encoding.UTF8.GetBytes(expected));

    /// <summary>The proxy's next write to this socket (what is left of it, if partly read), acknowledged.</summary>
    public byte[] ReadBytes()
    {
        Pump(() => Unread > 0, "a write from the proxy");
        return Take(_unread[0].Data.Length - _consumed);
    }

    /// <summary>The proxy's next write, as UTF-8.</summary>
    public string ReadString() => Encoding.UTF8.GetString(ReadBytes());

    /// <summary>The peer sends FIN: the proxy sees <c>PeerClosed</c> on its next read (as Akka.IO reports EOF on a read).</summary>
    public void Close()
    {
        AwaitRead("to read (and so see the FIN)");
        PeerClosed = true;
        _socket.Send(Handler!, Tcp.PeerClosed.Instance);
    }

    /// <summary>The peer resets: the proxy's next read fails with <c>ErrorClosed</c> and the connection actor stops.</summary>
    public void Reset()
    {
        AwaitRead("to read (and so see the reset)");
        _socket.Send(Handler!, new Tcp.ErrorClosed("Connection reset by peer"));
        Stop();
    }

    /// <summary>
    /// Waits for the proxy to close this socket (<c>Close</c>, <c>ConfirmedClose</c> or <c>Abort</c>), answers it as
    /// Akka.IO does once the socket is closed (for a ConfirmedClose: the peer closes its side too) and stops
    /// the connection actor. Bytes written before the close can still be read. Returns the close asked for.
    /// </summary>
    public Tcp.CloseCommand ExpectClosed()
    {
        Pump(() => CloseRequested is not null || _stopped, "the proxy to close the connection");
        if (CloseRequested is not { } close) throw new XunitException($"{Name}: the test had already reset it; the proxy never closed it");
        if (!_stopped)
        {
            if (Handler is not null) _socket.Send(Handler, close.Event);
            if (_closer is not null && !_closer.Equals(Handler)) _socket.Send(_closer, close.Event);
            Stop();
        }
        return close;
    }

    /// <summary>
    /// Fails if the proxy has asked to close this socket by now, without waiting: after <see cref="L4PSimulation.Advance"/>,
    /// a close decided by a timer that fired is already here, so this checks that a timeout did not fire.
    /// </summary>
    public void ExpectOpen()
    {
        while (!_stopped && _socket.TryReceiveOne(out var envelope, TimeSpan.Zero)) Handle(envelope.Message, envelope.Sender);
        if (CloseRequested is { } close) throw new XunitException($"{Name}: expected it open, the proxy sent {close.GetType().Name}");
        if (_stopped) throw new XunitException($"{Name}: expected it open, it is closed");
    }

    /// <summary>The peer has sent FIN (<see cref="Close"/>).</summary>
    public bool PeerClosed { get; private set; }

    private IActorRef? _closer;

    private int Unread => _unread.Sum(w => w.Data.Length) - _consumed;

    /// <summary>Until the proxy registers a handler (or closes the socket at once, as a listener at maxclients or draining does).</summary>
    private protected void AwaitRegistered() => Pump(() => Handler is not null || CloseRequested is not null, "the proxy to register a handler");

    private void AwaitRead(string why)
    {
        if (_stopped) throw new XunitException($"{Name}: already closed");
        Pump(() => _readRequested, $"the proxy {why} (ResumeReading; in pull mode it reads a side again only after the other side has read its last write)");
        _readRequested = false;
    }

    private void Stop()
    {
        _stopped = true;
        _socket.Sys.Stop(_socket.Ref);
    }

    private byte[] Take(int n)
    {
        var result = new byte[n];
        var filled = 0;
        while (filled < n)
        {
            var (data, ack, sender) = _unread[0];
            var take = Math.Min(n - filled, data.Length - _consumed);
            Array.Copy(data, _consumed, result, filled, take);
            filled += take;
            _consumed += take;
            if (_consumed < data.Length) break;
            _unread.RemoveAt(0);
            _consumed = 0;
            if (ack is not Tcp.NoAck && !_stopped) _socket.Send(sender, ack);
        }
        return result;
    }

    /// <summary>Takes the proxy's commands to this socket, in order, until <paramref name="done"/> holds.</summary>
    private protected void Pump(Func<bool> done, string waitingFor)
    {
        var timeout = _socket.RemainingOrDefault;
        var started = Stopwatch.GetTimestamp();
        while (!done())
        {
            var left = timeout - Stopwatch.GetElapsedTime(started);
            if (left <= TimeSpan.Zero || !_socket.TryReceiveOne(out var envelope, left))
                throw new XunitException($"{Name}: timed out after {timeout.TotalSeconds:0.#}s waiting for {waitingFor}; the proxy sent it: "
                    + (_seen.Count == 0 ? "nothing" : string.Join(", ", _seen.TakeLast(12))));
            Handle(envelope.Message, envelope.Sender);
        }
    }

    private void Handle(object message, IActorRef sender)
    {
        _seen.Add(message switch
        {
            Tcp.Write w => $"Write({w.Data.Count} bytes)",
            _ => message.GetType().Name,
        });
        switch (message)
        {
            case Tcp.Register r when Handler is null:
                // Akka.IO: watch the handler, unwatch the commander. Same actor: the watch is already there
                // (no-op), then removed: nothing watches the socket.
                Handler = r.Handler;
                _handlerWatched = !r.Handler.Equals(_commander);
                _socket.Watch(r.Handler); // ours, to see the death either way
                break;
            case Tcp.Register:
                break;
            case Terminated t when Handler is null && t.ActorRef.Equals(_commander):
            case Terminated t2 when _handlerWatched && t2.ActorRef.Equals(Handler):
                Stop(); // Akka.IO closes a socket whose watched actor died
                break;
            case Terminated t when t.ActorRef.Equals(Handler):
                _diedWith ??= $"its handler {t.ActorRef.Path} (which dialled and registered itself, so Akka.IO does not watch it) stopped without closing it";
                break;
            case Terminated:
                break;
            case Tcp.ResumeReading:
                _readRequested = true;
                break;
            case Tcp.SuspendReading:
                _readRequested = false;
                break;
            case Tcp.Write w:
                _unread.Add((w.Data.ToArray(), w.Ack, sender));
                break;
            case Tcp.CloseCommand c:
                if (CloseRequested is null)
                {
                    CloseRequested = c;
                    _closer = sender;
                }
                break;
            case Tcp.Command c:
                throw new XunitException($"{Name}: the simulated socket does not support {c.GetType().Name}");
        }
    }

    private static string Show(byte[] bytes)
    {
        var printable = bytes.All(b => b is >= 0x20 and < 0x7f or (byte)'\r' or (byte)'\n' or (byte)'\t');
        return printable
            ? $"\"{Encoding.ASCII.GetString(bytes).Replace("\r", "\\r", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal)}\" ({bytes.Length} bytes)"
            : $"{Convert.ToHexString(bytes.AsSpan(0, Math.Min(bytes.Length, 64)))}{(bytes.Length > 64 ? "..." : "")} ({bytes.Length} bytes)";
    }

    private protected static IPEndPoint Parse(string endpoint) => IPEndPoint.Parse(endpoint);
}

/// <summary>
/// A client connection the proxy accepted on one of its listen addresses (<see cref="L4PSimulation.Accept"/>);
/// the test plays the client. A listener at <c>maxclients</c> or draining closes it at once: then
/// <see cref="SimulatedConnection.ExpectClosed"/> answers without a handler.
/// </summary>
public sealed class SimulatedClient : SimulatedConnection
{
    internal SimulatedClient(TestProbe socket, IActorRef listener, IPEndPoint remote, IPEndPoint local) : base(socket, listener)
    {
        Remote = remote;
        Local = local;
    }

    /// <summary>The client's address (the log's <c>client=</c>).</summary>
    public IPEndPoint Remote { get; }

    /// <summary>The listen address it connected to.</summary>
    public IPEndPoint Local { get; }

    public override string Name => $"client {Remote} on {Local}";

    internal SimulatedClient Connect(IActorRef listener)
    {
        Socket.Send(listener, new Tcp.Connected(Remote, Local));
        AwaitRegistered();
        return this;
    }
}

/// <summary>
/// A dial of the proxy to an upstream address (<see cref="L4PSimulation.ExpectConnect"/>); the test plays
/// the upstream server: <see cref="Accept"/>, <see cref="Refuse"/> or <see cref="Hang"/>, then the same
/// reads, writes and closes as a client.
/// </summary>
public sealed class SimulatedUpstream : SimulatedConnection
{
    private static int _localPorts = 50000;
    private readonly TestProbe _manager;
    private readonly IActorRef _dialer;
    private readonly Tcp.Connect _connect;

    internal SimulatedUpstream(TestProbe manager, IActorRef dialer, Tcp.Connect connect, TestProbe socket) : base(socket, dialer)
    {
        _manager = manager;
        _dialer = dialer;
        _connect = connect;
        Address = (IPEndPoint)connect.RemoteAddress;
    }

    /// <summary>The address the proxy dialled.</summary>
    public IPEndPoint Address { get; }

    /// <summary>The connect timeout the proxy gave Akka.IO (its own timer, <c>timeouts.connect</c>, comes first).</summary>
    public TimeSpan? Timeout => _connect.Timeout;

    public override string Name => $"upstream {Address}";

    /// <summary>The upstream accepts: <c>Connected</c>, and the proxy registers its handler (or aborts, if it gave up on this dial).</summary>
    public SimulatedUpstream Accept()
    {
        var local = new IPEndPoint(IPAddress.Parse("192.0.2.254"), Interlocked.Increment(ref _localPorts));
        Socket.Send(_dialer, new Tcp.Connected(Address, local));
        AwaitRegistered();
        return this;
    }

    /// <summary>The upstream refuses (connection refused): the proxy tries its next address, if any.</summary>
    public void Refuse() =>
        _manager.Send(_dialer, new Tcp.CommandFailed(_connect).WithCause(new System.Net.Sockets.SocketException((int)System.Net.Sockets.SocketError.ConnectionRefused)));

    /// <summary>The upstream never answers: only the proxy's connect timeout ends the dial (advance virtual time past it).</summary>
    public void Hang() { }
}
