using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;

namespace L4P.Transport;

/// <summary>
/// A listening socket behind Akka.IO's Bind protocol: Bound or CommandFailed to the bind's handler,
/// Connected (sender: a new <see cref="SocketConnection"/>, a child) for each accepted socket, Unbound
/// after Unbind. As with Akka.IO, the accepted connections are children: unbinding ends them.
/// </summary>
internal sealed class SocketListener : ActorBase
{
    private sealed record Accepted(Socket Socket);

    private sealed record AcceptFailed(SocketError Error);

    private readonly Tcp.Bind _bind;
    private readonly int _frameSize;
    private Socket? _socket;
    private SocketAsyncEventArgs? _accept;
    private IActorRef _self = ActorRefs.Nobody;

    public SocketListener(Tcp.Bind bind, int frameSize)
    {
        _bind = bind;
        _frameSize = frameSize;
    }

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        _self = Self;
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
            _bind.Handler.Tell(new Tcp.CommandFailed(_bind).WithCause(e), _self);
            Context.Stop(_self);
            return;
        }
        _socket = socket;
        _bind.Handler.Tell(new Tcp.Bound(socket.LocalEndPoint!), _self);
        _accept = new SocketAsyncEventArgs();
        _accept.Completed += (_, e) => OnAccepted(e);
        AcceptNext();
    }

    protected override void PostStop()
    {
        _socket?.Dispose();
        _accept?.Dispose();
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
            _self.Tell(new Accepted(e.AcceptSocket!));
            e.AcceptSocket = null;
            return true;
        }
        // Aborted by Unbind (the socket closed) ends the loop; a transient error (ECONNABORTED: a client
        // gave up while queued) does not.
        if (e.SocketError is SocketError.OperationAborted or SocketError.Interrupted or SocketError.NotSocket) return false;
        _self.Tell(new AcceptFailed(e.SocketError));
        return true;
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Accepted a:
                var socket = a.Socket;
                EndPoint remote, local;
                try
                {
                    SocketConnection.Prepare(socket);
                    (remote, local) = (socket.RemoteEndPoint!, socket.LocalEndPoint!);
                }
                catch (SocketException)
                {
                    socket.Dispose(); // gone before we saw it
                    return true;
                }
                var connection = Context.ActorOf(Connections.FactoryProps.For(() => new SocketConnection(socket, _bind.Handler, _frameSize)));
                // Told here rather than from the child's PreStart: the handler starts while the child is created.
                _bind.Handler.Tell(new Tcp.Connected(remote, local), connection);
                return true;
            case AcceptFailed:
                return true;
            case Tcp.Unbind:
                _socket!.Dispose();
                Sender.Tell(Tcp.Unbound.Instance, _self);
                Context.Stop(_self);
                return true;
            default:
                return false;
        }
    }
}
