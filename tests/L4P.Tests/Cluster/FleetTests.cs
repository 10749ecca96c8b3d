using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Resolution;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Cluster;

/// <summary>
/// Three (or four) L4P nodes in this process, each a proxy ActorSystem with the real proxy on loopback
/// sockets and a fleet ActorSystem with remoting on a loopback port, the fleets formed into one Akka
/// cluster (node 0's is the seed); the TestKit's system is node 0's proxy system.
/// What one node learns (an outlier, a DNS change) must reach the others; the fleet-wide limit must hold.
/// </summary>
public sealed class FleetTests : TestKit, IAsyncLifetime
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(20);

    // AwaitCondition's default pause between checks is a tenth of the wait: far too long here.
    private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(50);

    private readonly ITestOutputHelper _output;
    private readonly int _port0;
    private readonly List<ClusterNode> _nodes = [];

    public FleetTests(ITestOutputHelper output) : this(output, TestPorts.Free())
    {
    }

    private FleetTests(ITestOutputHelper output, int port0) : base(ClusterNode.Hocon(), ClusterConfig.SystemName, output)
    {
        _output = output;
        _port0 = port0;
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var n in _nodes.Skip(1)) await n.DisposeAsync(); // node 0 is the TestKit's: it shuts it down
    }

    /// <summary>Starts node <paramref name="i"/> (node 0 on the TestKit's system); its fleet joins node 0's.</summary>
    private async Task<ClusterNode> StartNodeAsync(int i, string yaml, Action<ScriptedDns>? dns = null)
    {
        var system = i == 0 ? Sys : ActorSystem.Create(ClusterConfig.SystemName, ClusterNode.Hocon());
        var scripted = new ScriptedDns();
        dns?.Invoke(scripted);
        var node = await ClusterNode.StartAsync(system, yaml, scripted, i == 0 ? _port0 : TestPorts.Free(), _port0, _output, $"node{i}");
        _nodes.Add(node);
        return node;
    }

    private async Task<ClusterNode[]> StartFleetAsync(Func<int, string> yaml, Action<int, ScriptedDns>? dns = null, int count = 3)
    {
        for (var i = 0; i < count; i++) await StartNodeAsync(i, yaml(i), d => dns?.Invoke(i, d));
        AwaitFleet(count);
        await AwaitPubSubSpreadAsync(count);
        return [.. _nodes];
    }

    /// <summary>
    /// Distributed pub-sub delivers to a node only once that node's subscription has gossiped round:
    /// a verdict published before then never reaches it. Every node having
    /// heard every other's load (FleetStatus's topic) shows its subscriptions have spread; the fleet's
    /// other topics were subscribed in the same instant, so two more gossip rounds carry them.
    /// </summary>
    private async Task AwaitPubSubSpreadAsync(int count)
    {
        AwaitCondition(() => _nodes.All(n => n.Fleet.Members.Count == count && n.Fleet.Members.Values.All(m => m.LoadSeenAt is not null)),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        await Task.Delay(TimeSpan.FromSeconds(2));
    }

    /// <summary>Every running node sees <paramref name="up"/> members up (and no other member).</summary>
    private void AwaitFleet(int up, IEnumerable<ClusterNode>? nodes = null) =>
        AwaitCondition(() => (nodes ?? _nodes).All(n => n.Fleet.Members.Count == up && n.Fleet.Members.Values.All(m => m.Status == "up")),
            TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));

    private static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    [Fact]
    public async Task An_address_ejected_by_one_node_is_skipped_by_all_and_a_success_brings_it_back_everywhere()
    {
        var dead = TestPorts.Closed();
        var lone = TestPorts.Closed();
        await using var good = TcpBackend.Named("good");
        int[] front = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        int[] solo = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        var health = TestPorts.Free();
        var nodes = await StartFleetAsync(i => $$"""
            version: 1
            servers:
              front: { listen: ["127.0.0.1:{{front[i]}}"], default: flaky }
              solo: { listen: ["127.0.0.1:{{solo[i]}}"], default: lone }
            {{(i == 2 ? $"  health: {{ listen: [\"127.0.0.1:{health}\"], default: admin }}" : "")}}
            upstream:
              flaky:
                targets: ["tcp://127.0.0.1:{{dead}}", "tcp://127.0.0.1:{{good.Endpoint.Port}}"]
                outlier: { failures: 2, eject_for: 60s }
              lone:
                target: tcp://127.0.0.1:{{lone}}
                outlier: { failures: 1, eject_for: 60s }
            """);
        var deadEp = Loopback(dead);

        // Node 0 alone sees the refusals: round robin sends every other connection to the dead address
        // first, and each such connection still reaches the good one.
        for (var i = 0; i < 4; i++)
        {
            using var c = await Net.ConnectAsync(Loopback(front[0]));
            Assert.Equal("good", System.Text.Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 4)));
        }
        AwaitCondition(() => nodes.All(n => n.Services.Outliers.IsEjected("flaky", deadEp)), Converge, Poll);
        Assert.Equal(1, nodes[0].Services.Metrics.Ejections.WithLabels("flaky").Value);
        Assert.Equal(0, nodes[2].Services.Metrics.Ejections.WithLabels("flaky").Value); // heard, not seen

        // Node 2 never tried the dead address and still leaves it out of every new connection.
        for (var i = 0; i < 4; i++)
            Assert.Equal([Loopback(good.Endpoint.Port)], nodes[2].Backends.NextOrder("flaky"));
        var status = JsonNode.Parse((await Net.HttpGetAsync(Loopback(health), "/status.json")).Body)!;
        var flaky = status["upstreams"]!.AsArray().Single(u => (string?)u!["name"] == "flaky")!;
        Assert.Equal("ejected", (string?)flaky["addresses"]!.AsArray().Single(a => (string?)a!["address"] == deadEp.ToString())!["state"]);

        // The only address of "lone" fails once on node 1: ejected everywhere. Then it comes up; with
        // nothing else to try node 2 tries it anyway, succeeds, and every node takes it back.
        using (var c = await Net.ConnectAsync(Loopback(solo[1])))
            Assert.True(await Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(10)));
        var loneEp = Loopback(lone);
        AwaitCondition(() => nodes.All(n => n.Services.Outliers.IsEjected("lone", loneEp)), Converge, Poll);
        await using var back = TcpBackend.Named("back", port: lone);
        using (var c = await Net.ConnectAsync(Loopback(solo[2])))
            Assert.Equal("back", System.Text.Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, 4)));
        AwaitCondition(() => nodes.All(n => !n.Services.Outliers.IsEjected("lone", loneEp)), Converge, Poll);
        Assert.Contains(nodes[0].Logs.Lines, l => l.Contains($"{loneEp} back in rotation: by {nodes[2].Address}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_name_is_looked_up_by_its_owner_only_and_its_change_reaches_every_node()
    {
        const int port = 7443;
        var key = new BackendKey("svc.test", AddressFamilyFilter.Any);
        var nodes = await StartFleetAsync(i => $$"""
            version: 1
            resolver: { interval: 300ms, retry: 300ms }
            servers:
              s: { listen: ["127.0.0.1:{{TestPorts.Free()}}"], default: named }
            upstream:
              named: tcp://svc.test:{{port}}
            """, (_, dns) => dns.Answer("svc.test", "127.0.0.2"));

        // Every node names the same owner.
        var owner = nodes[0].Fleet.OwnerOf(key);
        Assert.NotNull(owner);
        Assert.All(nodes, n => Assert.Equal(owner, n.Fleet.OwnerOf(key)));
        var ownerNode = nodes.Single(n => n.Address == owner);
        var others = nodes.Where(n => n != ownerNode).ToArray();

        // Timers set before the fleet formed fire once more; after that only the owner asks the DNS.
        await Task.Delay(1000);
        var before = others.Select(n => n.Dns.Calls("svc.test")).ToArray();
        var ownerBefore = ownerNode.Dns.Calls("svc.test");
        foreach (var n in others) n.Dns.Answer("svc.test", "127.0.0.9"); // what they would see if they asked
        ownerNode.Dns.Answer("svc.test", "127.0.0.3");

        var moved = new IPEndPoint(IPAddress.Parse("127.0.0.3"), port);
        AwaitCondition(() => nodes.All(n => n.Backends.Endpoints("named").SequenceEqual([moved])), Converge, Poll);
        await Task.Delay(1000);
        Assert.All(nodes, n => Assert.Equal([moved], n.Backends.Endpoints("named").ToArray()));
        Assert.Equal(before, others.Select(n => n.Dns.Calls("svc.test")).ToArray());
        Assert.True(ownerNode.Dns.Calls("svc.test") >= ownerBefore + 3, $"owner asked {ownerNode.Dns.Calls("svc.test") - ownerBefore} times in 1 s+");
    }

    [Fact]
    public async Task A_member_that_leaves_hands_over_its_names_and_a_new_member_joins_the_view()
    {
        // Thirty names: the leaving node owns some of them (the chance it owns none is (2/3)^30).
        var names = Enumerable.Range(0, 30).Select(i => $"n{i}.test").ToArray();
        var yaml = string.Join("\n", [
            "version: 1",
            "resolver: { interval: 300ms, retry: 300ms }",
            "servers:",
            "  s: { listen: [\"127.0.0.1:PORT\"], default: many }",
            "upstream:",
            $"  many: {{ targets: [{string.Join(", ", names.Select(n => $"\"tcp://{n}:80\""))}] }}",
        ]);
        string Yaml() => yaml.Replace("PORT", TestPorts.Free().ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        void Dns(ScriptedDns d)
        {
            foreach (var n in names) d.Answer(n, "127.0.0.2");
        }
        var nodes = await StartFleetAsync(_ => Yaml(), (_, d) => Dns(d));

        var leaving = nodes[2];
        var handed = names.First(n => nodes[0].Fleet.OwnerOf(new BackendKey(n, AddressFamilyFilter.Any)) == leaving.Address);
        await leaving.LeaveAsync();
        AwaitFleet(2, nodes[..2]);

        // The name's new owner is one of the two left, both agree, and it looks the name up again.
        var newOwner = nodes[0].Fleet.OwnerOf(new BackendKey(handed, AddressFamilyFilter.Any));
        Assert.Equal(newOwner, nodes[1].Fleet.OwnerOf(new BackendKey(handed, AddressFamilyFilter.Any)));
        var heir = nodes[..2].Single(n => n.Address == newOwner);
        var calls = heir.Dns.Calls(handed);
        heir.Dns.Answer(handed, "127.0.0.4");
        AwaitCondition(() => heir.Dns.Calls(handed) > calls, Converge, Poll);
        AwaitCondition(() => nodes[..2].All(n => n.Backends.Endpoints("many").Contains(new IPEndPoint(IPAddress.Parse("127.0.0.4"), 80))), Converge, Poll);

        // A fourth node joins: everyone up sees three members, and /cluster lists them.
        await _nodes[2].DisposeAsync();
        _nodes.RemoveAt(2);
        var joined = await StartNodeAsync(3, Yaml(), Dns);
        AwaitFleet(3);
        Assert.Contains(joined.Address, nodes[0].Fleet.Members.Keys);
        var json = JsonNode.Parse(nodes[1].Fleet.ToJson())!;
        Assert.Equal(3, json["members"]!.AsArray().Count);
    }

    /// <summary>Connects and checks the echo: true when the proxy admitted the connection, false when it closed it at once.</summary>
    private static async Task<(Socket Socket, bool Admitted)> TryEchoAsync(int port)
    {
        var s = await Net.ConnectAsync(Loopback(port));
        try
        {
            await s.SendAsync("x"u8.ToArray());
            var buf = new byte[1];
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            return (s, await s.ReceiveAsync(buf, SocketFlags.None, cts.Token) == 1);
        }
        catch (SocketException)
        {
            return (s, false);
        }
    }

    private static L4P.Cluster.FleetLimits.ServerView Limited(ClusterNode n) => n.Services.FleetLimits!.Snapshot().Single(x => x.Server == "limited");

    private static int FleetCount(ClusterNode n) => Limited(n) is var l ? l.Local + l.Others : -1;

    [Fact]
    public async Task Cluster_scope_maxclients_holds_within_the_documented_bound_and_a_leaving_members_share_returns()
    {
        const int max = 6;
        int[] ports = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        var nodes = await StartFleetAsync(i => $$"""
            version: 1
            cluster: { enabled: true }
            servers:
              limited: { listen: ["127.0.0.1:{{ports[i]}}"], default: echo, maxclients: {{max}}, maxclients_scope: cluster }
            """);
        // The bound holds once every limiter's view has the three members (each ceiling one slice of 6).
        AwaitCondition(() => nodes.All(n => Limited(n).Ceiling == L4P.Cluster.FleetLimits.Slice(max, nodes.Length)), Converge, Poll);
        var held = new List<Socket>();
        try
        {
            // A burst on every node at once: each takes at most its slice of the headroom it sees, so the
            // fleet stays within maxclients + members - 1 (README: cluster mode), where per-node limits would let 18 in.
            var burst = await Task.WhenAll(Enumerable.Range(0, 24).Select(i => TryEchoAsync(ports[i % 3])));
            var admitted = burst.Count(b => b.Admitted);
            _output.WriteLine($"burst: {admitted} of {burst.Length} admitted");
            Assert.InRange(admitted, max - 2, max + nodes.Length - 1);
            foreach (var b in burst) b.Socket.Dispose();
            AwaitCondition(() => nodes.All(n => FleetCount(n) == 0), Converge, Poll);

            // One at a time, round the fleet, each seen by every node before the next: exactly max fit.
            for (var i = 0; i < max; i++)
            {
                var (s, ok) = await TryEchoAsync(ports[i % 3]);
                held.Add(s);
                Assert.True(ok, $"connection {i + 1} of {max} was refused");
                AwaitCondition(() => nodes.All(n => FleetCount(n) == i + 1), Converge, Poll);
            }
            foreach (var port in ports)
            {
                var (s, ok) = await TryEchoAsync(port);
                s.Dispose();
                Assert.False(ok, $"node on port {port} admitted connection {max + 1}");
            }

            // Node 2 (holding two) leaves the cluster: its count no longer counts, the others may take two
            // more. Node 0 gets them one slice of the headroom per view (README: cluster mode).
            await nodes[2].LeaveAsync();
            AwaitFleet(2, nodes[..2]);
            AwaitCondition(() => FleetCount(nodes[0]) == 4 && FleetCount(nodes[1]) == 4, Converge, Poll);
            for (var i = 0; i < 2; i++)
            {
                AwaitCondition(() => Limited(nodes[0]) is var l && l.Ceiling > l.Local, Converge, Poll);
                var (s, ok) = await TryEchoAsync(ports[0]);
                held.Add(s);
                Assert.True(ok, $"after the leave, connection {i + 1} of 2 was refused");
                AwaitCondition(() => FleetCount(nodes[1]) == 5 + i, Converge, Poll);
            }
            var (extra, admittedExtra) = await TryEchoAsync(ports[1]);
            extra.Dispose();
            Assert.False(admittedExtra);
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
    }
}
