using System.Collections.Immutable;
using L4P.Cluster;
using L4P.Config;
using Xunit;

namespace L4P.Tests.Cluster;

/// <summary>What a detach does to the proxy's seams, without a cluster: limits, the view, the fleet system's settings.</summary>
public sealed class FleetDetachTests
{
    [Fact]
    public void A_detached_node_falls_back_to_its_own_share_of_the_last_view_and_publishes_its_count_again()
    {
        var limits = new FleetLimits { Epoch = 1 };
        limits.Register("s", 9);
        limits.SetView("s", others: 0, members: 3, epoch: 1);
        for (var i = 0; i < 2; i++) Assert.True(limits.TryAdmit("s", 9));
        Assert.Equal(2, limits.TakeUnpublished("s"));
        limits.SetView("s", others: 7, members: 3, epoch: 1); // the fleet is full: 2 + 7
        Assert.False(limits.TryAdmit("s", 9));

        limits.Epoch = -1;
        limits.Detach();
        Assert.Null(limits.TakeUnpublished("s", epoch: 1)); // the downed incarnation's last tick
        // Nobody's counts reach it: its own share, ceil(9 / 3) = 3, of which it holds 2.
        Assert.Equal(new FleetLimits.ServerView("s", 9, 2, 0, 3), limits.Snapshot().Single());
        Assert.True(limits.TryAdmit("s", 9));
        Assert.False(limits.TryAdmit("s", 9));
        // A limiter of the incarnation that is gone changes nothing; the next fleet hears its count.
        limits.SetView("s", others: 0, members: 1, epoch: 1);
        Assert.Equal(3, limits.Snapshot().Single().Ceiling);
        Assert.Equal(3, limits.TakeUnpublished("s"));
    }

    [Fact]
    public void The_view_takes_members_only_from_the_current_incarnation_and_says_detached()
    {
        var view = new FleetView { SelfAddress = "akka.tcp://l4p@h:1", Epoch = 2 };
        var members = ImmutableSortedDictionary.CreateRange(StringComparer.Ordinal,
            [KeyValuePair.Create("akka.tcp://l4p@h:1", new FleetMember("akka.tcp://l4p@h:1", "up", [], null, null))]);
        Assert.False(view.Set(members, epoch: 1));
        Assert.Empty(view.Members);
        Assert.True(view.Set(members, epoch: 2));
        view.State = FleetState.Detached;
        var json = System.Text.Json.Nodes.JsonNode.Parse(view.ToJson())!;
        Assert.Equal("detached", (string?)json["state"]);
    }

    [Fact]
    public void The_fleet_system_never_ends_the_process_and_a_rejoin_leaves_itself_out_of_the_seeds()
    {
        var cluster = ClusterConfig.Disabled with
        {
            Enabled = true,
            Hostname = "10.0.0.5",
            SeedNodes = ["akka.tcp://l4p@10.0.0.5:4053", "akka.tcp://l4p@10.0.0.6:4053"],
            DownAfter = TimeSpan.FromSeconds(7),
        };
        var first = FleetSystemConfig.For(cluster, rejoin: false);
        Assert.False(first.GetBoolean("akka.coordinated-shutdown.exit-clr"));
        Assert.False(first.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));
        Assert.Equal(TimeSpan.FromSeconds(7), first.GetTimeSpan("akka.cluster.split-brain-resolver.stable-after"));
        Assert.Equal(2, first.GetStringList("akka.cluster.seed-nodes").Count);
        Assert.Equal(["akka.tcp://l4p@10.0.0.6:4053"], FleetSystemConfig.For(cluster, rejoin: true).GetStringList("akka.cluster.seed-nodes"));
    }
}
