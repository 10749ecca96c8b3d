using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>Three L4P processes on loopback form one Akka cluster; /cluster shows the fleet and follows a leave.</summary>
public sealed class ClusterTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-cluster-").FullName;
    private readonly List<HostProcess> _nodes = [];

    public void Dispose()
    {
        foreach (var n in _nodes) n.Dispose();
        Directory.Delete(_dir, true);
    }

    private static async Task<JsonNode> FleetAsync(int healthPort) =>
        JsonNode.Parse((await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, healthPort), "/cluster")).Body)!;

    private static async Task<JsonNode> WaitFleetAsync(int healthPort, Func<JsonNode, bool> until, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        JsonNode fleet;
        do
        {
            fleet = await FleetAsync(healthPort);
            if (until(fleet)) return fleet;
            await Task.Delay(250);
        } while (DateTime.UtcNow < deadline);
        throw new TimeoutException($"fleet never matched: {fleet.ToJsonString()}");
    }

    private static int Up(JsonNode fleet) => fleet["members"]!.AsArray().Count(m => (string?)m!["status"] == "up");

    [Fact]
    public async Task Three_nodes_join_show_each_others_load_and_a_leaving_node_disappears()
    {
        int[] clusterPorts = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        int[] health = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        int[] echo = [TestPorts.Free(), TestPorts.Free(), TestPorts.Free()];
        var seeds = $"[\"127.0.0.1:{clusterPorts[0]}\", \"127.0.0.1:{clusterPorts[1]}\"]";
        for (var i = 0; i < 3; i++)
        {
            var path = Path.Combine(_dir, $"node{i}.yaml");
            await File.WriteAllTextAsync(path, $$"""
                version: 1
                cluster: { enabled: true, hostname: 127.0.0.1, port: {{clusterPorts[i]}}, seed_nodes: {{seeds}}, roles: [proxy] }
                servers:
                  health: { listen: ["127.0.0.1:{{health[i]}}"], default: admin }
                  echo: { listen: ["127.0.0.1:{{echo[i]}}"], default: echo }
                """);
            _nodes.Add(new HostProcess($"--config {path}"));
        }
        foreach (var n in _nodes) await n.WaitForOutputAsync("started with", TimeSpan.FromSeconds(60));

        var fleet = await WaitFleetAsync(health[0], f => Up(f) == 3, TimeSpan.FromSeconds(60));
        output.WriteLine(fleet.ToJsonString());
        Assert.All(fleet["members"]!.AsArray(), m => Assert.Equal("proxy", (string?)m!["roles"]![0]));

        // Load on node 2 becomes visible on node 1.
        using var held = await Net.ConnectAsync(new IPEndPoint(IPAddress.Loopback, echo[1]));
        var node2 = $"akka.tcp://l4p@127.0.0.1:{clusterPorts[1]}";
        await WaitFleetAsync(health[0], f => f["members"]!.AsArray().Any(m =>
            (string?)m!["address"] == node2 && (long?)m["active_connections"] >= 1), TimeSpan.FromSeconds(15));

        var metrics = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, health[0]), "/metrics")).Body);
        Assert.Equal(3, metrics.Value("l4p_cluster_members"));
        Assert.Equal(0, metrics.Value("l4p_cluster_detached"));
        Assert.Equal("up", (string?)fleet["state"]);
        var status = JsonNode.Parse((await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, health[0]), "/status.json")).Body)!;
        Assert.Equal("up", (string?)status["cluster"]);
        Assert.Contains("cluster <b id=\"cluster\">up</b>", (await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, health[0]), "/status")).Body, StringComparison.Ordinal);

        // Node 3 is stopped with SIGTERM: it drains, leaves, and the others see two members.
        _nodes[2].Signal(HostProcess.SIGTERM);
        Assert.Equal(0, await _nodes[2].WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await WaitFleetAsync(health[0], f => f["members"]!.AsArray().Count == 2 && Up(f) == 2, TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Standalone_opens_no_cluster_port_and_says_so()
    {
        var h = TestPorts.Free();
        var path = Path.Combine(_dir, "solo.yaml");
        await File.WriteAllTextAsync(path, $"version: 1\nservers:\n  health: {{ listen: [\"127.0.0.1:{h}\"], default: admin }}\n");
        var node = new HostProcess($"--config {path}");
        _nodes.Add(node);
        await node.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        Assert.False((bool)(await FleetAsync(h))["enabled"]!);
        var status = JsonNode.Parse((await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, h), "/status.json")).Body)!;
        Assert.Null(status["cluster"]);
        // Nothing listens on the default cluster port (no Akka remoting in standalone mode).
        using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await Assert.ThrowsAnyAsync<SocketException>(() => probe.ConnectAsync(new IPEndPoint(IPAddress.Loopback, 4053)));
    }
}
