using System.Net;
using System.Net.Sockets;
using Akka.Actor;
using Akka.IO;
using L4P.Proxy;

namespace L4P.Connections;

/// <summary>
/// One listen address of one server: binds with Akka.IO (pull mode), spawns a
/// <see cref="ClientConnection"/> per accepted socket and enforces <c>maxclients</c> for this address
/// (as tls-proxy-tunnel does), or asks <see cref="Cluster.FleetLimits"/> with <c>maxclients_scope: cluster</c>;
/// every connection also takes a slot of the process-wide <see cref="ConnectionBudget"/> (descriptors).
/// Draining unbinds and waits for the connections to end.
/// </summary>
public sealed class Listener : ActorBase
{
    private ServerContext _ctx;
    private readonly IPEndPoint _endpoint;
    private IActorRef? _socket;
    private int _active;
    private long _rejected;
    private bool _atLimit;
    private bool _draining;
    private Prometheus.Gauge.Child _activeGauge;

    // maxclients_scope: cluster: the server each connection was admitted under, to release it there.
    private readonly Dictionary<IActorRef, string> _fleetAdmitted = [];

    public Listener(ServerContext ctx, IPEndPoint endpoint)
    {
        _ctx = ctx;
        _endpoint = endpoint;
        _activeGauge = ctx.Services.Metrics.ActiveConnections.WithLabels(ctx.Server.Name, endpoint.ToString());
    }

    public static Props Props(ServerContext ctx, IPEndPoint endpoint) =>
        Akka.Actor.Props.Create(() => new Listener(ctx, endpoint));

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart() =>
        _ctx.Services.TcpManager.Tell(new Tcp.Bind(Self, _endpoint, backlog: 1024, options: [new Ipv6Only()], pullMode: true)
        {
            TcpSettings = _ctx.Tcp,
        });

    protected override bool AroundReceive(Receive receive, object message)
    {
        InjectedFault.ThrowIfFault(message);
        return base.AroundReceive(receive, message);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Tcp.Bound b:
                _socket = Sender;
                Log.Listening(_ctx.Log, _ctx.Server.Name, b.LocalAddress);
                _ctx.Services.Metrics.MaxClients.WithLabels(_ctx.Server.Name, _endpoint.ToString()).Set(_ctx.Server.MaxClients);
                Context.Parent.Tell(new ListenerBound(_ctx.Server.Name, _endpoint, b.LocalAddress));
                Become(Accepting);
                return true;
            case Tcp.CommandFailed { Cmd: Tcp.Bind } f:
                var cause = f.Cause.HasValue ? f.Cause.Value.Message : "bind failed";
                Context.Parent.Tell(new ListenerFailed(_ctx.Server.Name, _endpoint, cause));
                Context.Stop(Self);
                return true;
            case UpdateContext u:
                Apply(u.Context);
                return true;
            case StopAccepting:
                // Not bound yet: nothing to drain.
                Context.Stop(Self);
                return true;
            default:
                return false;
        }
    }

    private bool Accepting(object message)
    {
        switch (message)
        {
            case Tcp.Connected c:
                Accept(c);
                return true;
            case UpdateContext u:
                Apply(u.Context);
                return true;
            case StopAccepting:
                // Akka.IO's accepted connections are children of its listener actor: Unbind would kill
                // them. So the socket stays bound, new connections are closed at once, and the unbind
                // waits until the last relay has ended.
                _draining = true;
                Log.Draining(_ctx.Log, _ctx.Server.Name, _endpoint, _active);
                Become(Draining);
                ReportIfDrained();
                return true;
            default:
                return Common(message);
        }
    }

    private bool Draining(object message)
    {
        switch (message)
        {
            case Tcp.Unbound:
                Context.Stop(Self); // the root watches listeners: this is the "drained" signal
                return true;
            case Tcp.Connected:
                Sender.Tell(Tcp.Close.Instance);
                return true;
            case StopAccepting:
                return true;
            default:
                return Common(message);
        }
    }

    private bool Common(object message)
    {
        switch (message)
        {
            case Terminated t:
                if (_fleetAdmitted.Remove(t.ActorRef, out var admittedBy)) _ctx.Services.FleetLimits!.Release(admittedBy);
                ReleaseBudget();
                _active--;
                _activeGauge.Dec();
                if (_atLimit && _active < _ctx.Server.MaxClients)
                {
                    _atLimit = false;
                    Log.BelowMaxClients(_ctx.Log, _ctx.Server.Name, _endpoint, _rejected);
                }
                ReportIfDrained();
                return true;
            case Tcp.ConnectionClosed:
                return true; // the close of a rejected connection completed
            case CloseConnections:
                foreach (var connection in Context.GetChildren()) Context.Stop(connection);
                return true;
            default:
                return false;
        }
    }

    private void Accept(Tcp.Connected c)
    {
        var server = _ctx.Server;
        var fleet = server.MaxClientsScope == Config.LimitScope.Cluster ? _ctx.Services.FleetLimits : null;
        if (fleet is null && _active >= server.MaxClients)
        {
            RejectMaxClients(c);
            return;
        }
        // The process-wide ceiling (descriptors): refused before the kernel would refuse the accept.
        var budget = _ctx.Services.Budget;
        if (!budget.TryAcquire(out var reached))
        {
            if (reached) Log.CeilingReached(_ctx.Log, budget.Ceiling ?? 0, server.Name, _endpoint, budget.Explanation);
            Log.RejectedAtCeiling(_ctx.Log, server.Name, Protocol.IpEndpoints.Unmap(c.RemoteAddress));
            _ctx.Services.Metrics.Connections.WithLabels(server.Name, "-", CloseCode.RejectedMaxConnections.Label()).Inc();
            Sender.Tell(Tcp.Close.Instance);
            return;
        }
        if (fleet is not null && !fleet.TryAdmit(server.Name, server.MaxClients))
        {
            ReleaseBudget();
            RejectMaxClients(c);
            return;
        }
        _active++;
        _activeGauge.Inc();
        var child = Context.ActorOf(ClientConnection.Props(_ctx, Sender, c.RemoteAddress, c.LocalAddress));
        Context.Watch(child);
        if (fleet is not null) _fleetAdmitted[child] = server.Name;
    }

    private void ReleaseBudget()
    {
        var budget = _ctx.Services.Budget;
        if (budget.Release()) Log.BelowCeiling(_ctx.Log, budget.Active, budget.Ceiling ?? 0, budget.Rejected);
    }

    private void RejectMaxClients(Tcp.Connected c)
    {
        _rejected++;
        if (!_atLimit)
        {
            _atLimit = true;
            Log.MaxClientsReached(_ctx.Log, _ctx.Server.Name, _endpoint, _ctx.Server.MaxClients);
        }
        Log.Rejected(_ctx.Log, _ctx.Server.Name, Protocol.IpEndpoints.Unmap(c.RemoteAddress));
        _ctx.Services.Metrics.Connections.WithLabels(_ctx.Server.Name, "-", CloseCode.RejectedMaxClients.Label()).Inc();
        Sender.Tell(Tcp.Close.Instance);
    }

    /// <summary>A reload: same socket, the new config for new connections; live ones keep theirs.</summary>
    private void Apply(ServerContext ctx)
    {
        var gauge = ctx.Services.Metrics.ActiveConnections.WithLabels(ctx.Server.Name, _endpoint.ToString());
        if (!ReferenceEquals(gauge, _activeGauge))
        {
            _activeGauge.Dec(_active);
            gauge.Inc(_active);
            _activeGauge = gauge;
        }
        _ctx = ctx;
        _ctx.Services.Metrics.MaxClients.WithLabels(_ctx.Server.Name, _endpoint.ToString()).Set(_ctx.Server.MaxClients);
    }

    private void ReportIfDrained()
    {
        if (_draining && _active == 0) _socket!.Tell(Tcp.Unbind.Instance);
    }

    /// <summary>
    /// Linux lets [::]:port also take IPv4, which would collide with a 0.0.0.0:port in the same config
    /// (the seed's example has both). Each address gets exactly its own family.
    /// </summary>
    private sealed class Ipv6Only : Inet.AbstractSocketOption
    {
        public override void BeforeServerSocketBind(Socket s)
        {
            if (s.AddressFamily == AddressFamily.InterNetworkV6)
                s.SetSocketOption(SocketOptionLevel.IPv6, SocketOptionName.IPv6Only, true);
        }
    }
}
