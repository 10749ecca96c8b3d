using System.Diagnostics;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using L4P.Cluster;
using Xunit;

namespace L4P.Tests.Cluster;

/// <summary>The fleet actors' death policy: a failure is logged with its exception and the actor comes back after the backoff.</summary>
public sealed class FleetSupervisionTests : TestKit
{
    private sealed class Fragile(IActorRef probe) : ActorBase
    {
        protected override void PreStart() => probe.Tell("started");

        protected override bool Receive(object message) =>
            message is "boom" ? throw new InvalidOperationException("planted failure") : false;

        public static Props Props(IActorRef probe) => Akka.Actor.Props.Create(() => new Fragile(probe));
    }

    [Fact]
    public void A_failed_fleet_actor_is_logged_and_started_again_after_the_backoff()
    {
        var supervisor = Sys.ActorOf(FleetSupervision.Props(Fragile.Props(TestActor), "fragile"), "fragile");
        ExpectMsg("started");
        var failed = Stopwatch.StartNew();
        EventFilter.Exception<InvalidOperationException>("planted failure").ExpectOne(() => supervisor.Tell("boom"));
        ExpectMsg("started", TimeSpan.FromSeconds(5));
        Assert.InRange(failed.Elapsed, FleetSupervision.MinBackoff * 0.7, FleetSupervision.MaxBackoff);
    }
}
