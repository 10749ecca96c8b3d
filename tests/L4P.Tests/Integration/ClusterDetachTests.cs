using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// Issue 23, item 4: the data plane outlives the cluster. Three L4P processes on loopback; one is frozen
/// with SIGSTOP until the other two have downed and removed it (a GC pause, a stalled VM), then thawed.
/// Its relay held open across the freeze still passes bytes, it serves every new connection after the
/// thaw, shows <c>detached</c> for a while, and is a member again by itself within <see cref="RejoinBound"/>.
/// </summary>
public sealed class ClusterDetachTests(ITestOutputHelper output) : IAsyncLifetime
{
    /// <summary>From SIGCONT to this node's /cluster showing it up among three: down_after 2 s, rejoin_after 1 s, a fleet start and a join.</summary>
    private static readonly TimeSpan RejoinBound = TimeSpan.FromSeconds(30);

    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-detach-").FullName;
    private readonly List<HostProcess> _nodes = [];
    private TcpBackend? _backend;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // What the nodes said about the cluster, for a failed run (Akka's own cluster lines included).
        for (var i = 0; i < _nodes.Count; i++)
            foreach (var line in (_nodes[i].Stdout + _nodes[i].Stderr).Split('\n').Where(l => l.Contains("Cluster", StringComparison.Ordinal) || l.Contains("fail", StringComparison.OrdinalIgnoreCase)))
                output.WriteLine($"[node{i}] {line.TrimEnd()}");
        foreach (var n in _nodes)
        {
            if (!n.HasExited) n.Signal(HostProcess.SIGCONT); // a frozen process would ignore anything else
            n.Dispose();
        }
        if (_backend is not null) await _backend.DisposeAsync();
        Directory.Delete(_dir, true);
    }

    private static IPEndPoint Loopback(int port) => new(IPAddress.Loopback, port);

    private static async Task<JsonNode> FleetAsync(int healthPort) =>
        JsonNode.Parse((await Net.HttpGetAsync(Loopback(healthPort), "/cluster")).Body)!;

    private static int Up(JsonNode fleet) => fleet["members"]!.AsArray().Count(m => (string?)m!["status"] == "up");

    private static async Task<JsonNode> WaitFleetAsync(int healthPort, Func<JsonNode, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode fleet;
        do
        {
            fleet = await FleetAsync(healthPort);
            if (until(fleet)) return fleet;
            await Task.Delay(200);
        } while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"fleet on :{healthPort} never matched: {fleet.ToJsonString()}");
    }

    /// <summary>One new connection through the proxy at <paramref name="port"/> to the echo backend: true when the bytes came back.</summary>
    private static async Task<bool> RelayOnceAsync(int port, string text)
    {
        try
        {
            using var s = await Net.ConnectAsync(Loopback(port));
            var bytes = Encoding.ASCII.GetBytes(text);
            await s.SendAsync(bytes);
            return Encoding.ASCII.GetString(await Net.ReadExactlyAsync(s, bytes.Length, TimeSpan.FromSeconds(5))) == text;
        }
        catch (Exception e) when (e is SocketException or IOException or TimeoutException or OperationCanceledException)
        {
            return false;
        }
    }

    private static async Task AssertHeldRelayAsync(Socket held, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await held.SendAsync(bytes);
        Assert.Equal(text, Encoding.ASCII.GetString(await Net.ReadExactlyAsync(held, bytes.Length, TimeSpan.FromSeconds(5))));
    }

    [Fact]
    public async Task A_node_frozen_past_its_downing_keeps_its_relay_serves_throughout_and_rejoins_by_itself()
    {
        _backend = TcpBackend.Echo();
        int[] clusterPorts = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        int[] health = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        int[] relay = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        var seeds = $"[\"127.0.0.1:{clusterPorts[0]}\", \"127.0.0.1:{clusterPorts[1]}\"]";
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(_dir, $"node{i}.yaml");
            await File.WriteAllTextAsync(path, $$"""
                version: 1
                cluster: { enabled: true, hostname: 127.0.0.1, port: {{clusterPorts[i]}}, seed_nodes: {{seeds}}, down_after: 2s, rejoin_after: 1s }
                servers:
                  admin: { listen: ["127.0.0.1:{{health[i]}}"], default: admin }
                  relay: { listen: ["127.0.0.1:{{relay[i]}}"], default: back, maxclients: 30, maxclients_scope: cluster }
                upstream:
                  back: tcp://127.0.0.1:{{_backend.Endpoint.Port}}
                """);
            _nodes.Add(new HostProcess($"--config {path}"));
        }
        foreach (var n in _nodes) await n.WaitForOutputAsync("started with", TimeSpan.FromSeconds(60));
        for (var i = 0; i < 3; i++) await WaitFleetAsync(health[i], f => Up(f) == 3 && (string?)f["state"] == "up", TimeSpan.FromSeconds(60));

        var frozen = _nodes[2];
        using var held = await Net.ConnectAsync(Loopback(relay[2]));
        await AssertHeldRelayAsync(held, "before");

        // Frozen until the other two have downed and removed it, and a little longer.
        frozen.Signal(HostProcess.SIGSTOP);
        var stopped = Stopwatch.StartNew();
        await WaitFleetAsync(health[0], f => f["members"]!.AsArray().Count == 2 && Up(f) == 2, TimeSpan.FromSeconds(40));
        output.WriteLine($"removed by the others {stopped.Elapsed.TotalSeconds:0.0} s after SIGSTOP");
        for (var i = 0; i < 2; i++) Assert.True(await RelayOnceAsync(relay[i], $"during{i}"), $"node {i} refused a connection while node 2 was frozen");
        await Task.Delay(TimeSpan.FromSeconds(2));
        output.WriteLine($"SIGCONT after {stopped.Elapsed.TotalSeconds:0.0} s");

        frozen.Signal(HostProcess.SIGCONT);
        var thawed = Stopwatch.StartNew();
        await AssertHeldRelayAsync(held, "thawed");

        // Until it is a member again: every new connection is served, and /cluster says where it stands.
        var states = new List<string>();
        var detachedCeilings = new HashSet<int>();
        var served = 0;
        TimeSpan? rejoined = null;
        while (thawed.Elapsed < RejoinBound)
        {
            Assert.True(await RelayOnceAsync(relay[2], $"new{served}"), $"node 2 refused new connection {served + 1}, {thawed.Elapsed.TotalSeconds:0.0} s after SIGCONT");
            served++;
            var fleet = await FleetAsync(health[2]);
            var state = (string)fleet["state"]!;
            if (states.Count == 0 || states[^1] != state) states.Add(state);
            // Every look while detached: the limiter may set one more view from its last news before it
            // hears it is cut off, and the next incarnation's may have its first view a moment before
            // FleetHost hears MemberUp; in between (and for all of rejoin_after) it is the share.
            if (state == "detached") detachedCeilings.Add((int)fleet["limits"]![0]!["this_node_ceiling"]!);
            // Up among three after having been detached (a link can flap: cut off, reachable, cut off).
            if (state == "up" && Up(fleet) == 3 && states.Contains("detached") && frozen.Stdout.Contains("is out of the cluster", StringComparison.Ordinal))
            {
                rejoined = thawed.Elapsed;
                break;
            }
            await Task.Delay(100);
        }
        output.WriteLine($"states after SIGCONT: {string.Join(" -> ", states)}; {served} new connections served");
        Assert.True(rejoined is not null, $"node 2 not a member again within {RejoinBound.TotalSeconds} s of SIGCONT (states: {string.Join(" -> ", states)})");
        output.WriteLine($"member again {rejoined!.Value.TotalSeconds:0.0} s after SIGCONT");
        Assert.Contains("detached", states);
        // Detached, the cluster-scope limit falls back to this node's share of the last view: ceil(30 / 3).
        Assert.Contains(10, detachedCeilings);
        output.WriteLine($"ceilings seen while detached: {string.Join(", ", detachedCeilings.Order())}");

        // The others take it back, the relay held across all of it still works, the detach was one warning.
        await WaitFleetAsync(health[0], f => Up(f) == 3, TimeSpan.FromSeconds(15));
        // ...and hear its count again: the held relay is node 2's one connection of the server.
        await WaitFleetAsync(health[0], f => (int)f["limits"]![0]!["other_nodes"]! == 1, TimeSpan.FromSeconds(15));
        await AssertHeldRelayAsync(held, "after");
        var metrics = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(Loopback(health[2]), "/metrics")).Body);
        Assert.Equal(0, metrics.Value("l4p_cluster_detached"));
        Assert.Equal(3, metrics.Value("l4p_cluster_members"));
        await frozen.WaitForOutputAsync("is a member again", TimeSpan.FromSeconds(10)); // the console logger writes behind
        var log = frozen.Stdout + frozen.Stderr;
        // One warning for the whole incident (cut off, downed, detached), and the detach itself.
        Assert.Equal(1, log.Split("warn: L4P.Cluster").Length - 1);
        Assert.Equal(1, log.Split("is out of the cluster").Length - 1);
        Assert.False(frozen.HasExited);
    }
}
