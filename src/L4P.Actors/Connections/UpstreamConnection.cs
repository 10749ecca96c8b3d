using System.Diagnostics;
using System.Net;
using Akka.Actor;
using Akka.IO;
using L4P.Config;

namespace L4P.Connections;

/// <summary>
/// The outbound half of a client connection, child of its <see cref="ClientConnection"/>:
/// resolve the upstream, try each address in order within the connect timeout, then relay
/// upstream -> client (its <see cref="RelayLeg"/>). It stops when the upstream socket has stopped.
/// </summary>
public sealed class UpstreamConnection : ActorBase, IWithTimers
{
    private sealed record Resolved(IPAddress[] Addresses);
    private sealed record ResolveFailed(string Reason);
    private sealed record ConnectTimedOut
    {
        public static readonly ConnectTimedOut Instance = new();
    }

    private readonly TcpUpstreamConfig _upstream;
    private readonly TimeSpan _timeout;
    private readonly IActorRef _inbound;
    private readonly ConnectionStats _stats;
    private readonly ProxyServices _services;
    private readonly long _started = Stopwatch.GetTimestamp();

    private IPAddress[] _addresses = [];
    private int _next;
    private string _lastError = "";
    private IActorRef? _outbound;
    private RelayLeg? _leg;

    public ITimerScheduler Timers { get; set; } = null!;

    public UpstreamConnection(TcpUpstreamConfig upstream, TimeSpan connectTimeout, IActorRef inbound,
        ConnectionStats stats, ProxyServices services)
    {
        _upstream = upstream;
        _timeout = connectTimeout;
        _inbound = inbound;
        _stats = stats;
        _services = services;
    }

    public static Props Props(TcpUpstreamConfig upstream, TimeSpan connectTimeout, IActorRef inbound,
        ConnectionStats stats, ProxyServices services) =>
        Akka.Actor.Props.Create(() => new UpstreamConnection(upstream, connectTimeout, inbound, stats, services));

    protected override void PreStart()
    {
        Context.Watch(_inbound);
        Timers.StartSingleTimer(ConnectTimedOut.Instance, ConnectTimedOut.Instance, _timeout);
        if (_upstream.Literal is { } ip)
        {
            _addresses = [ip];
            TryNextAddress();
            return;
        }
        var self = Self;
        _services.Dns.ResolveAsync(_upstream.Host, _upstream.Family, CancellationToken.None).ContinueWith(
            t => t.IsCompletedSuccessfully ? (object)new Resolved(t.Result)
                : new ResolveFailed(t.Exception?.GetBaseException().Message ?? "cancelled"),
            TaskContinuationOptions.ExecuteSynchronously).PipeTo(self);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Resolved r when r.Addresses.Length == 0:
                Fail($"dns: {_upstream.Host} has no {FamilyName()} address");
                return true;
            case Resolved r:
                _addresses = r.Addresses;
                TryNextAddress();
                return true;
            case ResolveFailed f:
                Fail($"dns: {_upstream.Host}: {f.Reason}");
                return true;
            default:
                return Connecting(message);
        }
    }

    private bool Connecting(object message)
    {
        switch (message)
        {
            case Tcp.Connected c:
                Timers.Cancel(ConnectTimedOut.Instance);
                _outbound = Sender;
                _stats.UpstreamAddress = c.RemoteAddress;
                _outbound.Tell(new Tcp.Register(Self, keepOpenOnPeerClosed: true, useResumeWriting: false));
                Context.Watch(_outbound);
                _leg = new RelayLeg(_outbound, _inbound, _stats.AddDown, Timers);
                Context.Parent.Tell(new UpstreamConnected(_outbound, c.RemoteAddress));
                _leg.Start();
                Context.Become(Relaying);
                return true;
            case Tcp.CommandFailed { Cmd: Tcp.Connect } f:
                _lastError = $"{((Tcp.Connect)f.Cmd).RemoteAddress}: {(f.Cause.HasValue ? f.Cause.Value.Message : "connect failed")}";
                TryNextAddress();
                return true;
            case ConnectTimedOut:
                Fail($"connect timeout after {Durations.Format(_timeout)} ({_upstream.Host}:{_upstream.Port})");
                return true;
            case Terminated t when t.ActorRef.Equals(_inbound):
                // The client left while we were connecting: nobody to connect for.
                Context.Stop(Self);
                return true;
            default:
                return false;
        }
    }

    private bool Relaying(object message)
    {
        if (_leg!.Handle(message, Sender, Self, out var reason))
        {
            if (reason is not null) _stats.SetCloseReason("upstream " + reason);
            if (_leg.SourceStopped) Context.Stop(Self);
            return true;
        }
        return message is Tcp.Event or ConnectTimedOut or Tcp.CommandFailed or Terminated;
    }

    private void TryNextAddress()
    {
        if (_next >= _addresses.Length)
        {
            Fail(_addresses.Length == 1 ? $"connect failed: {_lastError}" : $"connect failed: all {_addresses.Length} addresses failed, last {_lastError}");
            return;
        }
        var remaining = _timeout - Stopwatch.GetElapsedTime(_started);
        if (remaining <= TimeSpan.Zero) return; // the timer fires next
        var endpoint = new IPEndPoint(_addresses[_next++], _upstream.Port);
        _services.TcpManager.Tell(new Tcp.Connect(endpoint, null, null, remaining, pullMode: true));
    }

    private void Fail(string reason)
    {
        Context.Parent.Tell(new UpstreamFailed(reason));
        Context.Stop(Self);
    }

    private string FamilyName() => _upstream.Family switch
    {
        AddressFamilyFilter.IPv4 => "IPv4",
        AddressFamilyFilter.IPv6 => "IPv6",
        _ => "IP",
    };
}
