using Akka.Actor;

namespace L4P.Proxy;

/// <summary>
/// A parent's supervision for children whose death it handles on <c>Terminated</c>: a child that throws is
/// stopped, and the exception is kept for the line that <c>Terminated</c> logs (Akka's decider does not
/// name the child; a parent handles one failure's Terminated before the next child can fail).
/// </summary>
internal sealed class ChildFailure
{
    private Exception? _last;

    /// <summary>The strategy to return from <c>SupervisorStrategy()</c>.</summary>
    public SupervisorStrategy StopAndRemember() => new OneForOneStrategy(e =>
    {
        _last = e;
        return Directive.Stop;
    });

    /// <summary>The last failure, described (<see cref="ActorFailure.Describe"/>), or <paramref name="none"/> when the child just stopped; forgotten after.</summary>
    public string Take(string none)
    {
        var e = _last;
        _last = null;
        return e is null ? none : ActorFailure.Describe(e);
    }

    /// <summary>Drops a failure that concerns nobody's log line (a child whose death is not a problem).</summary>
    public void Forget() => _last = null;
}
