using System.Buffers;
using System.Net.Sockets;
using Akka.Actor;
using Akka.Event;
using Akka.IO;

namespace L4P.Transport;

/// <summary>
/// One TCP socket behind the part of Akka.IO's connection protocol L4P uses (Register, ResumeReading ->
/// Received, Write with ack, Close / ConfirmedClose / Abort -> Closed / ConfirmedClosed / Aborted,
/// PeerClosed, ErrorClosed, CommandFailed), so every actor of the proxy runs unchanged on either transport.
/// What it does differently from Akka.IO's TcpConnection, and why:
/// <list type="bullet">
/// <item>Reads are pull-only and try the socket at once (non-blocking) on ResumeReading; only when it has
/// nothing does it wait with a zero-byte receive, which holds no buffer. An idle connection owns no
/// buffer; a read borrows one from the shared pool for the length of a syscall, except in bulk (whole
/// frames in a row), where a full frame becomes the Received as is, without a copy.</item>
/// <item>It is an actor ref without a cell (<see cref="InlineActorRef"/>): commands run on the sender's
/// thread, socket completions tell the handler directly (Received from the receive callback), and writes
/// the socket takes at once are acked at once. No actor is created or stopped per socket and no message
/// waits in a mailbox on this side.</item>
/// <item>A refused connect fails at once (Akka.IO retries it five times).</item>
/// </list>
/// Reads and writes touch the socket from at most one place at a time: reads under the gate until an
/// asynchronous receive is issued, then from its completion until Received is sent; writes under the
/// gate (an asynchronous send's completion takes it too).
/// </summary>
internal sealed class SocketConnection : InlineActorRef
{
    private enum Closing { None, Close, Confirmed }

    private readonly int _frameSize;
    private readonly Tcp.Connect? _connect;
    private readonly IActorRef _commander;
    private readonly LiveConnections _live;
    private Socket? _socket;
    private IActorRef? _handler;
    private bool _keepOpenOnPeerClosed = true;

    // Reading: 1 while a receive is outstanding (set under the gate, cleared by whoever completes it).
    private int _reading;
    private SocketAsyncEventArgs? _readArgs;
    private bool _peerClosed;

    // The last read filled a whole frame. Touched only by whoever holds the outstanding read.
    private bool _bulk;

    // Writing: queued writes (made on the first that must wait), the one being sent asynchronously, and what is left of it.
    private Queue<(Tcp.Write Write, IActorRef Sender)>? _writes;
    private (Tcp.Write Write, IActorRef Sender)? _current;
    private SocketAsyncEventArgs? _writeArgs;
    private ByteString _unsent = ByteString.Empty;

    private Closing _closing;
    private IActorRef? _closeCommander;
    private bool _finSent;
    private bool _closed;

    /// <summary>An accepted socket, already <see cref="Prepare"/>d; <paramref name="commander"/> is the Bind's handler.</summary>
    public SocketConnection(Socket socket, IActorRef commander, int frameSize, LiveConnections live)
        : this(socket, null, commander, frameSize, live)
    {
    }

    /// <summary>An outgoing connection; <paramref name="commander"/> gets Connected or CommandFailed once <see cref="Connect"/> is called.</summary>
    public SocketConnection(Tcp.Connect connect, IActorRef commander, int frameSize, LiveConnections live)
        : this(null, connect, commander, frameSize, live)
    {
    }

    private SocketConnection(Socket? socket, Tcp.Connect? connect, IActorRef commander, int frameSize, LiveConnections live)
        : base(live.Provider, live.Owner)
    {
        _socket = socket;
        _connect = connect;
        _commander = commander;
        _frameSize = frameSize;
        _live = live;
        live.Add(this);
    }

    /// <summary>Starts an outgoing connection.</summary>
    public void Connect()
    {
        var connect = _connect!;
        var commander = _commander;
        var remote = connect.RemoteAddress;
        Socket socket;
        lock (Gate)
        {
            // Whoever asked may be gone before the socket connects (its own deadline passed): then nobody
            // would ever register or close this connection (Akka.IO has register-timeout for that).
            WatchActor(commander);
            try
            {
                socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
                _socket = socket;
                foreach (var option in connect.Options) option.BeforeConnect(socket);
                if (connect.LocalAddress is { } local) socket.Bind(local);
            }
            catch (Exception e) when (e is SocketException or ArgumentException or NotSupportedException)
            {
                commander.Tell(new Tcp.CommandFailed(connect).WithCause(e), this);
                Finish(Tcp.Aborted.Instance, notify: false);
                return;
            }
        }
        var cts = connect.Timeout is { } t ? new CancellationTokenSource(t) : null;
        // The continuation runs where the connect completed (a socket thread): handing it to the pool
        // would wake a thread per connection.
        socket.ConnectAsync(remote, cts?.Token ?? CancellationToken.None).AsTask().ContinueWith(task => InlineExecution.Run(task =>
        {
            cts?.Dispose();
            if (task.IsCompletedSuccessfully)
            {
                // The socket is not shared yet, so preparing it here is safe.
                try
                {
                    Prepare(socket);
                    commander.Tell(new Tcp.Connected(socket.RemoteEndPoint!, socket.LocalEndPoint!), this);
                }
                catch (ObjectDisposedException)
                {
                    // aborted meanwhile (its commander went away)
                }
                return;
            }
            var error = task.Exception?.GetBaseException();
            Exception cause = task.IsCanceled || error is OperationCanceledException
                ? new TimeoutException($"connect timeout after {connect.Timeout}")
                : error!;
            commander.Tell(new Tcp.CommandFailed(connect).WithCause(cause), this);
            lock (Gate) Finish(Tcp.Aborted.Instance, notify: false);
        }, task), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    internal static void Prepare(Socket socket)
    {
        socket.NoDelay = true;
        socket.Blocking = false; // reads and writes are tried at once; "would block" means wait
    }

    /// <summary>Ends the connection with a reset (its listener or transport stopped); the handler gets Aborted, as from Akka.IO.</summary>
    public void Kill()
    {
        lock (Gate) Abort(null);
    }

    protected override void OnMessage(object message, IActorRef sender)
    {
        switch (message)
        {
            case Tcp.Register r:
                _handler = r.Handler;
                _keepOpenOnPeerClosed = r.KeepOpenOnPeerClosed;
                WatchActor(_handler);
                break;
            case Tcp.ResumeReading:
                if (!_closed && !_peerClosed) Read();
                break;
            case Tcp.SuspendReading:
                break; // pull mode: nothing is read until the next ResumeReading anyway
            case Tcp.Write w:
                OnWrite(w, sender);
                break;
            case Tcp.Close:
                StartClose(Closing.Close, sender);
                break;
            case Tcp.ConfirmedClose:
                StartClose(Closing.Confirmed, sender);
                break;
            case Tcp.Abort:
                Abort(sender);
                break;
            case PoisonPill or Akka.Actor.Kill:
                Abort(null, tellHandler: false);
                break;
            default:
                DeadLetters.Tell(new DeadLetter(message, sender, this), sender);
                break;
        }
    }

    protected override void OnWatchedStopped(IActorRef actor)
    {
        // Nobody left to report to (Akka.IO does the same): reset and go. The commander matters only
        // until a Register hands the connection to someone else.
        if (actor.Equals(Handler)) Abort(null, tellHandler: false);
    }

    private IActorRef Handler => _handler ?? _commander;

    // ---- reading ----

    private void Read()
    {
        if (Interlocked.CompareExchange(ref _reading, 1, 0) != 0) return; // one outstanding read at most
        if (TryReceive()) return;
        // Nothing there: wait for data with a zero-byte receive, which holds no buffer while idle.
        if (_readArgs is null)
        {
            _readArgs = new SocketAsyncEventArgs();
            _readArgs.SetBuffer(Memory<byte>.Empty);
            _readArgs.Completed += (_, e) => InlineExecution.Run(static args => ((SocketConnection)args.UserToken!).OnReadable(args), e);
            _readArgs.UserToken = this;
        }
        if (!_socket!.ReceiveAsync(_readArgs)) OnReadable(_readArgs);
    }

    /// <summary>The socket has data, EOF or an error (on a pool thread, or inline).</summary>
    private void OnReadable(SocketAsyncEventArgs e)
    {
        if (e.SocketError != SocketError.Success)
        {
            Volatile.Write(ref _reading, 0);
            ReadEnded(e.SocketError);
            return;
        }
        if (TryReceive()) return;
        try
        {
            if (!_socket!.ReceiveAsync(e)) OnReadable(e); // woken without data: wait again
        }
        catch (ObjectDisposedException)
        {
            // closed meanwhile: the actor has already reported it
        }
    }

    /// <returns>false when the socket has nothing yet (the read stays outstanding).</returns>
    private bool TryReceive()
    {
        if (Volatile.Read(ref _closed)) return true;
        // Every read borrows a pooled frame. While the peer fills whole frames (bulk), a frame that came
        // back full is handed over as is and never returned (the pool makes a new one, uninitialized):
        // no copy and no zeroing. Otherwise only what came is copied out and the frame goes back, so a
        // small read pins no frame, and neither does an idle connection.
        var buffer = ArrayPool<byte>.Shared.Rent(_frameSize);
        var keep = false;
        try
        {
            var n = _socket!.Receive(buffer, 0, _frameSize, SocketFlags.None, out var error);
            if (error == SocketError.WouldBlock) return false;
            Volatile.Write(ref _reading, 0);
            if (error != SocketError.Success) ReadEnded(error);
            else if (n == 0) ReadEnded(SocketError.Success); // EOF
            else
            {
                ByteString data;
                if (_bulk && n == _frameSize)
                {
                    data = ByteString.FromBytes(buffer, 0, n);
                    keep = true;
                }
                else
                {
                    var copy = GC.AllocateUninitializedArray<byte>(n);
                    Buffer.BlockCopy(buffer, 0, copy, 0, n);
                    data = ByteString.FromBytes(copy);
                }
                _bulk = n == _frameSize;
                Handler.Tell(new Tcp.Received(data), this);
            }
            return true;
        }
        catch (ObjectDisposedException)
        {
            return true; // closed meanwhile
        }
        finally
        {
            if (!keep) ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>The outstanding read found EOF or an error (under the gate, or from a completion).</summary>
    private void ReadEnded(SocketError error)
    {
        lock (Gate) OnReadEnded(error);
    }

    private void OnReadEnded(SocketError error)
    {
        if (_closed) return;
        if (error != SocketError.Success)
        {
            ErrorClosed(error);
            return;
        }
        // EOF from the peer.
        _peerClosed = true;
        if (_finSent)
        {
            // Both FINs: the ConfirmedClose is done.
            Finish(Tcp.ConfirmedClosed.Instance);
            return;
        }
        if (_keepOpenOnPeerClosed) Handler.Tell(Tcp.PeerClosed.Instance, this);
        else Finish(Tcp.PeerClosed.Instance);
    }

    // ---- writing ----

    private void OnWrite(Tcp.Write w, IActorRef sender)
    {
        if (_closed || _closing != Closing.None)
        {
            sender.Tell(new Tcp.CommandFailed(w), this); // as Akka.IO: nothing is written after a close
            return;
        }
        if (_current is null) Send(w, sender); // the usual case: nothing waiting, no queue
        else (_writes ??= new Queue<(Tcp.Write, IActorRef)>()).Enqueue((w, sender));
    }

    /// <summary>Sends at once what the socket takes; the rest waits for an async send.</summary>
    private void Send(Tcp.Write write, IActorRef sender)
    {
        var unsent = SendNow(write.Data, out var error);
        if (error != SocketError.Success)
        {
            ErrorClosed(error);
            return;
        }
        if (unsent.IsEmpty)
        {
            if (write.WantsAck) sender.Tell(write.Ack, this);
            return;
        }
        _current = (write, sender);
        _unsent = unsent;
        SendLater();
    }

    /// <summary>Sends queued writes while the socket takes them at once; then a pending close may go.</summary>
    private void WriteQueued()
    {
        while (_current is null && !_closed && _writes is { } queue && queue.TryDequeue(out var item))
            Send(item.Write, item.Sender);
        if (_current is null && !_closed && _closing != Closing.None) CloseNow();
    }

    /// <returns>What the socket did not take (empty when all of it went out).</returns>
    private ByteString SendNow(ByteString data, out SocketError error)
    {
        error = SocketError.Success;
        var span = data.ToReadOnlySpan(); // no copy for a compact ByteString (every Received is one)
        var offset = 0;
        while (offset < span.Length)
        {
            var n = _socket!.Send(span[offset..], SocketFlags.None, out var e);
            if (e == SocketError.WouldBlock) return data.Slice(offset);
            if (e != SocketError.Success)
            {
                error = e;
                return ByteString.Empty;
            }
            offset += n;
        }
        return ByteString.Empty;
    }

    private void SendLater()
    {
        if (_writeArgs is null)
        {
            _writeArgs = new SocketAsyncEventArgs();
            _writeArgs.UserToken = this;
            _writeArgs.Completed += (_, e) => InlineExecution.Run(static args =>
            {
                var connection = (SocketConnection)args.UserToken!;
                lock (connection.Gate) connection.OnSendEnded(args.SocketError, args.BytesTransferred);
            }, e);
        }
        // Only when the peer reads slower than we write: a copy of what is left is fine here.
        var rest = _unsent.ToArray();
        _writeArgs.SetBuffer(rest, 0, rest.Length);
        if (!_socket!.SendAsync(_writeArgs)) OnSendEnded(_writeArgs.SocketError, _writeArgs.BytesTransferred);
    }

    private void OnSendEnded(SocketError error, int sent)
    {
        if (_closed) return;
        if (error != SocketError.Success)
        {
            ErrorClosed(error);
            return;
        }
        _unsent = _unsent.Slice(sent);
        if (!_unsent.IsEmpty)
        {
            SendLater();
            return;
        }
        var (write, sender) = _current!.Value;
        _current = null;
        if (write.WantsAck) sender.Tell(write.Ack, this);
        WriteQueued();
    }

    // ---- closing ----

    private void StartClose(Closing how, IActorRef commander)
    {
        if (_closed) return;
        if (_closing != Closing.None && how == Closing.Confirmed) return;
        _closing = how; // a Close after a ConfirmedClose makes it a plain close
        _closeCommander = commander;
        if (_current is null) CloseNow();
    }

    /// <summary>Every write is out: a Close closes; a ConfirmedClose sends the FIN and waits for the peer's.</summary>
    private void CloseNow()
    {
        if (_closing == Closing.Close)
        {
            Finish(Tcp.Closed.Instance);
            return;
        }
        if (_finSent) return;
        _finSent = true;
        try
        {
            _socket!.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException e)
        {
            ErrorClosed(e.SocketErrorCode);
            return;
        }
        if (_peerClosed) Finish(Tcp.ConfirmedClosed.Instance);
        // Else the peer's EOF arrives through a read the handler asks for (pull mode, as with Akka.IO).
    }

    /// <param name="commander">Who asked (told Aborted besides the handler); null when nobody did.</param>
    /// <param name="tellHandler">Whether the handler hears of it (not when it is the one that died).</param>
    private void Abort(IActorRef? commander, bool tellHandler = true)
    {
        if (_closed) return;
        _closeCommander = commander;
        try
        {
            _socket!.LingerState = new LingerOption(true, 0); // close sends RST
        }
        catch (SocketException)
        {
            // already gone
        }
        Finish(Tcp.Aborted.Instance, notify: tellHandler);
    }

    private void ErrorClosed(SocketError error) =>
        Finish(new Tcp.ErrorClosed(new SocketException((int)error).Message));

    /// <summary>Closes the socket, tells the handler (and whoever asked for the close), and stops; under the gate.</summary>
    private void Finish(Tcp.ConnectionClosed how, bool notify = true)
    {
        if (_closed) return;
        Volatile.Write(ref _closed, true);
        _socket?.Dispose();
        _writeArgs?.Dispose();
        _readArgs?.Dispose();
        if (notify)
        {
            Handler.Tell(how, this);
            if (_closeCommander is not null && !_closeCommander.Equals(Handler) && !_closeCommander.IsNobody() && !_closeCommander.Equals(DeadLetters))
                _closeCommander.Tell(how, this);
        }
        // Writes still queued will never go: tell their senders, as Akka.IO does for a closing connection.
        if (_writes is { } queue)
            foreach (var (write, sender) in queue) sender.Tell(new Tcp.CommandFailed(write), this);
        _writes = null;
        _live.Remove(this);
        MarkStopped();
    }
}
