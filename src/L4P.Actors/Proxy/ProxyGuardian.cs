using Akka.Actor;
using L4P.Config;
using Microsoft.Extensions.Logging;

namespace L4P.Proxy;

/// <summary>
/// The actor <c>WithL4P</c> puts under <c>/user</c> (named by <c>L4POptions.ActorName</c>), the parent of
/// the <see cref="ProxyRoot"/> (<c>root</c>) and the proxy's address for every message: it forwards them.
/// Why it exists: the embedding app's guardian strategy decides what happens to a failing /user actor
/// (Akka's default restarts it, which would stop every listener and pair and start again from the
/// config captured in Props). This actor handles nothing that can fail, so that strategy never acts on
/// the proxy; its own strategy resumes a ProxyRoot that throws while handling a message (state, current
/// config and every connection kept; the error logged and counted as <c>actor="proxy_root"</c>), and
/// stops one that fails to start, after which it answers <see cref="ProxyRoot.WaitReady"/> and
/// <see cref="ProxyRoot.Reload"/> with the cause instead of leaving them to time out.
/// </summary>
public sealed class ProxyGuardian : ActorBase
{
    /// <summary>The ProxyRoot's name under the guardian: paths below the root start with it.</summary>
    public const string RootName = "root";

    private readonly Props _rootProps;
    private readonly ProxyServices _services;
    private readonly ILogger _log;
    private IActorRef _root = ActorRefs.Nobody;
    private string? _rootFailure;
    private string? _rootStopped;

    public ProxyGuardian(Props rootProps, ProxyServices services)
    {
        _rootProps = rootProps;
        _services = services;
        _log = services.Logs.CreateLogger("L4P.Hosting");
    }

    /// <summary>The guarded proxy for <paramref name="config"/>: what <c>WithL4P</c> starts.</summary>
    public static Props Props(ProxyConfig config, ProxyServices services) =>
        Akka.Actor.Props.Create(() => new ProxyGuardian(ProxyRoot.Props(config, services), services));

    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(e =>
    {
        _rootFailure = ActorFailure.Describe(e);
        if (e is ActorInitializationException) return Directive.Stop;
        _services.Metrics.ActorRestarts.WithLabels("proxy_root").Inc();
        Log.RootResumed(_log, _rootFailure);
        return Directive.Resume;
    }, loggingEnabled: false);

    protected override void PreStart()
    {
        _root = Context.ActorOf(_rootProps, RootName);
        Context.Watch(_root);
    }

    protected override bool Receive(object message)
    {
        switch (message)
        {
            case Terminated t when t.ActorRef.Equals(_root):
                _rootStopped = $"the proxy's root actor stopped: {_rootFailure ?? "stopped from outside"}";
                Log.RootStopped(_log, _rootStopped);
                return true;
            case ProxyRoot.WaitReady when _rootStopped is not null:
                Sender.Tell(new ProxyRoot.StartFailed(_rootStopped));
                return true;
            case ProxyRoot.Reload when _rootStopped is not null:
                Sender.Tell(new ProxyRoot.Reloaded(ReloadOutcome.Failed, [_rootStopped]));
                return true;
            case ProxyRoot.Drain when _rootStopped is not null:
                Sender.Tell(new ProxyRoot.Drained());
                return true;
            default:
                _root.Forward(message);
                return true;
        }
    }
}
