using Akka.Actor;
using Akka.Pattern;

namespace L4P.Cluster;

/// <summary>
/// The death policy of the fleet's long-lived actors (FleetHost, FleetStatus, FleetShare, FleetLimiter):
/// each runs under a backoff supervisor that restarts it after a failure, 1 s after the first and
/// doubling to 30 s, back to 1 s once it has run for a minute. Akka's supervisor logs each failure with
/// its exception, so no death is silent; the fleet never takes the proxy down with it.
/// </summary>
public static class FleetSupervision
{
    public static readonly TimeSpan MinBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan ResetAfter = TimeSpan.FromMinutes(1);

    /// <summary>A supervisor that runs <paramref name="child"/> as <paramref name="name"/> and restarts it with backoff when it fails.</summary>
    public static Props Props(Props child, string name) =>
        BackoffSupervisor.Props(Backoff.OnFailure(child, name, MinBackoff, MaxBackoff, 0.2, maxNrOfRetries: -1)
            .WithAutoReset(ResetAfter)
            .WithSupervisorStrategy(new OneForOneStrategy(_ => Directive.Restart)));
}
