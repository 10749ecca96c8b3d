using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;

namespace L4P.Transport;

/// <summary>
/// A listening socket behind Akka.IO's Bind protocol: Bound or CommandFailed to the bind's handler,
/// Connected (sender: a new <see cref="SocketConnection"/>) for each accepted socket, told straight from
/// the accept completion, Unbound after Unbind. As with Akka.IO, where the accepted connections are
/// children of the listener, unbinding ends them.
/// </summary>
internal sealed class SocketListener : ActorBase
{
    private readonly Tcp.Bind _bind;
    private readonly int _frameSize;
    private Socket? _socket;
    private SocketAsyncEventArgs? _accept;
    private LiveConnections? _accepted;

    public SocketListener(Tcp.Bind bind, int frameSize)
    {
        _bind = bind;
        _frameSize = frameSize;
    }

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        _accepted = new LiveConnections(Context);
        var socket = new Socket(_bind.LocalAddress.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
            foreach (var option in _bind.Options) option.BeforeServerSocketBind(socket);
            socket.Bind(_bind.LocalAddress);
            socket.Listen(_bind.Backlog);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            _bind.Handler.Tell(new Tcp.CommandFailed(_bind).WithCause(e), Self);
            Context.Stop(Self);
            return;
        }
        _socket = socket;
        _bind.Handler.Tell(new Tcp.Bound(socket.LocalEndPoint!), Self);
        _accept = new SocketAsyncEventArgs();
        _accept.Completed += (_, e) => InlineExecution.Run(OnAccepted, e);
        AcceptNext();
    }

    protected override void PostStop()
    {
        _socket?.Dispose();
        _accept?.Dispose();
        _accepted?.KillAll();
    }

    /// <summary>Accepts until the socket has nobody waiting, then waits (on the pool) for the next one.</summary>
    private void AcceptNext()
    {
        try
        {
            _accept!.AcceptSocket = null;
            while (!_socket!.AcceptAsync(_accept))
                if (!Deliver(_accept)) return;
        }
        catch (ObjectDisposedException)
        {
            // unbound
        }
    }

    private void OnAccepted(SocketAsyncEventArgs e)
    {
        if (Deliver(e)) AcceptNext();
    }

    private bool Deliver(SocketAsyncEventArgs e)
    {
        if (e.SocketError == SocketError.Success)
        {
            var socket = e.AcceptSocket!;
            e.AcceptSocket = null;
            Hand(socket);
            return true;
        }
        // Aborted by Unbind (the socket closed) ends the loop; a transient error (ECONNABORTED: a client
        // gave up while queued) does not.
        return e.SocketError is not (SocketError.OperationAborted or SocketError.Interrupted or SocketError.NotSocket);
    }

    /// <summary>Tells the bind's handler of a new connection (from the accept loop: one hop less per connection).</summary>
    private void Hand(Socket socket)
    {
        EndPoint remote, local;
        try
        {
            SocketConnection.Prepare(socket);
            (remote, local) = (socket.RemoteEndPoint!, socket.LocalEndPoint!);
        }
        catch (SocketException)
        {
            socket.Dispose(); // gone before we saw it
            return;
        }
        var connection = new SocketConnection(socket, _bind.Handler, _frameSize, _accepted!);
        _bind.Handler.Tell(new Tcp.Connected(remote, local), connection);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Unbind:
                _socket!.Dispose();
                Sender.Tell(Tcp.Unbound.Instance, Self);
                Context.Stop(Self);
                return true;
            default:
                return false;
        }
    }
}
