using System.Net;
using L4P.Cluster;
using L4P.Config;
using L4P.LoadBalancing;
using L4P.Resolution;
using Xunit;

namespace L4P.Tests.LoadBalancing;

/// <summary>Outlier detection, name ownership and fleet-limit arithmetic as pure code (no actors, no sockets).</summary>
public sealed class OutlierTests
{
    private sealed class ManualClock : TimeProvider
    {
        public DateTimeOffset Now = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => Now;
    }

    private static readonly IPEndPoint A = IPEndPoint.Parse("10.0.0.1:80");
    private static readonly IPEndPoint B = IPEndPoint.Parse("10.0.0.2:80");
    private static readonly OutlierConfig ThreeFor30s = new(3, TimeSpan.FromSeconds(30));

    [Fact]
    public void Failures_in_a_row_eject_a_success_in_between_resets_and_the_time_passing_restores()
    {
        var clock = new ManualClock();
        var table = new OutlierTable(time: clock);
        var sent = new List<OutlierVerdict>();
        table.Broadcast = sent.Add;

        table.ConnectFailed("u", A, ThreeFor30s);
        table.ConnectFailed("u", A, ThreeFor30s);
        table.ConnectSucceeded("u", A); // the run ends
        table.ConnectFailed("u", A, ThreeFor30s);
        table.ConnectFailed("u", A, ThreeFor30s);
        Assert.False(table.IsEjected("u", A));
        Assert.True(table.None);
        table.ConnectFailed("u", A, ThreeFor30s);
        Assert.True(table.IsEjected("u", A));
        Assert.False(table.IsEjected("other", A)); // per upstream
        Assert.Equal([new OutlierVerdict("u", "10.0.0.1:80", true, TimeSpan.FromSeconds(30), "local")], sent);

        clock.Now += TimeSpan.FromSeconds(29);
        Assert.True(table.IsEjected("u", A));
        clock.Now += TimeSpan.FromSeconds(2);
        Assert.False(table.IsEjected("u", A));
        Assert.True(table.None);
    }

    [Fact]
    public void A_success_on_an_ejected_address_brings_it_back_and_tells_the_fleet()
    {
        var table = new OutlierTable();
        var sent = new List<OutlierVerdict>();
        table.Broadcast = sent.Add;
        table.Apply(new OutlierVerdict("u", "10.0.0.1:80", true, TimeSpan.FromMinutes(1), "akka.tcp://l4p@n2:1"));
        Assert.True(table.IsEjected("u", A));
        Assert.Empty(sent); // heard from another node: not sent again
        table.ConnectSucceeded("u", A);
        Assert.False(table.IsEjected("u", A));
        Assert.Equal([new OutlierVerdict("u", "10.0.0.1:80", false, TimeSpan.Zero, "local")], sent);
    }

    [Fact]
    public void New_connections_skip_ejected_addresses_unless_every_address_is_ejected()
    {
        var config = ConfigLoader.Parse("""
            version: 1
            servers:
              s: { listen: ["127.0.0.1:1"], default: u }
            upstream:
              u: { targets: ["tcp://10.0.0.1:80", "tcp://10.0.0.2:80"], outlier: { failures: 1 } }
            """, "t.yaml", _ => null);
        var table = new OutlierTable();
        var registry = new BackendRegistry(config, table);
        var outlier = ((TcpUpstreamConfig)config.Upstreams["u"]).Outlier!;
        table.ConnectFailed("u", A, outlier);
        for (var i = 0; i < 4; i++) Assert.Equal([B], registry.NextOrder("u"));
        table.ConnectFailed("u", B, outlier);
        // Both ejected: both are tried (a success brings one back), in the usual rotation.
        Assert.Equal(2, registry.NextOrder("u").Length);
        Assert.Equal(2, registry.Endpoints("u").Length);
    }

    private static FleetView Fleet(string self, params string[] up) =>
        new FleetView { SelfAddress = self }.With([.. up.Select(a => new FleetMember(a, "up", [], null, null))]);

    [Fact]
    public void Every_member_computes_the_same_owner_and_a_node_not_up_owns_every_name()
    {
        string[] members = ["akka.tcp://l4p@h:1", "akka.tcp://l4p@h:2", "akka.tcp://l4p@h:3"];
        var keys = Enumerable.Range(0, 60).Select(i => new BackendKey($"n{i}.test", AddressFamilyFilter.Any)).ToArray();
        var views = members.Select(m => Fleet(m, members)).ToArray();
        foreach (var key in keys)
        {
            Assert.Single(views, v => v.Owns(key));
            Assert.All(views, v => Assert.Equal(views[0].OwnerOf(key), v.OwnerOf(key)));
        }
        // Each member owns some of sixty names.
        Assert.All(views, v => Assert.Contains(keys, v.Owns));
        // A member leaving moves only its own names.
        var two = members[..2].Select(m => Fleet(m, members[..2])).ToArray();
        foreach (var key in keys.Where(k => views[2].OwnerOf(k) != members[2]))
            Assert.Equal(views[0].OwnerOf(key), two[0].OwnerOf(key));
        // Not up yet (or cut off): owns everything, so nothing goes unrefreshed.
        var alone = Fleet("akka.tcp://l4p@h:9", members);
        Assert.All(keys, k => Assert.True(alone.Owns(k)));
    }

    [Fact]
    public void Fleet_limits_admit_a_slice_of_the_headroom_per_view_and_never_past_the_limit_as_seen()
    {
        var limits = new FleetLimits();
        limits.Register("s", 10);
        limits.SetView("s", others: 0, members: 3);
        var admitted = 0;
        while (limits.TryAdmit("s", 10)) admitted++;
        Assert.Equal(4, admitted); // ceil(10 / 3)
        limits.SetView("s", others: 4, members: 3); // the others took four meanwhile
        Assert.True(limits.TryAdmit("s", 10));      // headroom 2, slice 1
        Assert.False(limits.TryAdmit("s", 10));
        limits.SetView("s", others: 5, members: 3); // 5 + 5 = 10: full
        Assert.False(limits.TryAdmit("s", 10));
        limits.Release("s");
        limits.SetView("s", others: 5, members: 3);
        Assert.True(limits.TryAdmit("s", 10));
        Assert.False(limits.TryAdmit("s", 10));
        var view = limits.Snapshot().Single();
        Assert.Equal((10, 5, 5), (view.Max, view.Local, view.Others));
        Assert.Equal(0, FleetLimits.Slice(-3, 3));
        Assert.Equal(1, FleetLimits.Slice(1, 3));
    }
}
