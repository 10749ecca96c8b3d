using System.Net;
using Akka.Actor;
using L4P.Config;
using L4P.Resolution;

namespace L4P.Connections;

/// <summary>
/// One loaded config generation: the Router (and its Resolver), then a listener per server x listen
/// address. Answers <see cref="WaitReady"/> once every address is bound and every upstream name has
/// had a first DNS answer (or the first bind failed),
/// and <see cref="Drain"/> once every listener has unbound and its connections have ended.
/// </summary>
public sealed class ProxyRoot : ActorBase
{
    public sealed record WaitReady
    {
        public static readonly WaitReady Instance = new();
    }

    public sealed record Ready(IReadOnlyList<ListenerBound> Listeners);

    public sealed record BindFailed(string Server, IPEndPoint Address, string Reason);

    public sealed record Drain
    {
        public static readonly Drain Instance = new();
    }

    public sealed record Drained;

    private readonly ProxyConfig _config;
    private readonly ProxyServices _services;
    private readonly List<IActorRef> _listeners = [];
    private readonly List<ListenerBound> _bound = [];
    private readonly List<IActorRef> _readyWaiters = [];
    private readonly BackendRegistry _backends = new();
    private object? _readyAnswer;
    private bool _routerReady;
    private IActorRef? _drainRequester;
    private int _toDrain;

    public ProxyRoot(ProxyConfig config, ProxyServices services)
    {
        _config = config;
        _services = services;
    }

    public static Props Props(ProxyConfig config, ProxyServices services) =>
        Akka.Actor.Props.Create(() => new ProxyRoot(config, services));

    protected override SupervisorStrategy SupervisorStrategy() => Akka.Actor.SupervisorStrategy.StoppingStrategy;

    protected override void PreStart()
    {
        Context.ActorOf(Router.Local(_config, _backends, _services.Dns, _services.Logs.CreateLogger("L4P.Resolution")), "router");
        var i = 0;
        foreach (var server in _config.Servers)
        {
            var ctx = ServerContext.Create(server, _config, _backends, _services);
            foreach (var ep in server.Listen)
                _listeners.Add(Context.ActorOf(Listener.Props(ctx, ep), $"listen-{i++}"));
        }
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case ListenerBound b:
                _bound.Add(b);
                AnswerIfReady();
                return true;
            case Router.Ready:
                _routerReady = true;
                AnswerIfReady();
                return true;
            case ListenerFailed f:
                Answer(new BindFailed(f.Server, f.Configured, f.Reason));
                return true;
            case WaitReady:
                if (_readyAnswer is not null) Sender.Tell(_readyAnswer);
                else _readyWaiters.Add(Sender);
                return true;
            case Drain:
                _drainRequester = Sender;
                _toDrain = _listeners.Count;
                foreach (var l in _listeners) l.Tell(StopAccepting.Instance);
                if (_toDrain == 0) Sender.Tell(new Drained());
                return true;
            case ListenerDrained:
                if (--_toDrain == 0) _drainRequester?.Tell(new Drained());
                return true;
            default:
                return false;
        }
    }

    private void AnswerIfReady()
    {
        if (_routerReady && _bound.Count == _listeners.Count) Answer(new Ready(_bound));
    }

    private void Answer(object answer)
    {
        if (_readyAnswer is not null) return;
        _readyAnswer = answer;
        foreach (var w in _readyWaiters) w.Tell(answer);
        _readyWaiters.Clear();
    }
}
