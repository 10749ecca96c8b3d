using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using L4P.Proxy;
using L4P.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace L4P.Tests.Integration;

/// <summary>
/// The real executable under <c>prlimit --nofile</c>: a flood of clients larger than the descriptors
/// allow. Before the connection ceiling, Akka.IO's listener retried its accepts every 10 ms with a
/// warning each and the process died ("Out of memory." or a PAL_SEHException) with every connection.
/// </summary>
public sealed partial class DescriptorLimitTests(ITestOutputHelper output) : IDisposable
{
    private const int NoFile = 640;
    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-nofile-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [GeneratedRegex(@"connection ceiling (\d+): RLIMIT_NOFILE soft limit (\d+): (\d+) descriptors open at start")]
    private static partial Regex CeilingLine();

    [Fact]
    public async Task Out_of_descriptors_the_process_refuses_new_clients_keeps_the_established_ones_and_recovers()
    {
        await using var backend = TcpBackend.Echo();
        int port = TestPorts.Free(), health = TestPorts.Free();
        var path = Path.Combine(_dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            log: info
            servers:
              relay: { listen: ["127.0.0.1:{{port}}"], default: backend, maxclients: 5000 }
              health: { listen: ["127.0.0.1:{{health}}"], default: admin }
            upstream:
              backend: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """);
        using var p = new HostProcess($"--config {path}", prefix: ["prlimit", $"--nofile={NoFile}"]);
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));

        // The ceiling it chose, from the limit prlimit set and the descriptors the runtime had open.
        var m = CeilingLine().Match(p.Stdout);
        Assert.True(m.Success, p.Stdout);
        var ceiling = int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        var openAtStart = int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(NoFile.ToString(System.Globalization.CultureInfo.InvariantCulture), m.Groups[2].Value);
        Assert.Equal(ConnectionBudget.Derive(NoFile, openAtStart, listeners: 2, batchAcceptLimit: 64), ceiling);
        Assert.InRange(ceiling, 20, NoFile / 2);
        output.WriteLine($"ceiling {ceiling}, {openAtStart} descriptors open at start");

        var relay = new IPEndPoint(IPAddress.Loopback, port);
        var held = new List<Socket>();
        var flood = new List<Socket>();
        try
        {
            // Up to the ceiling: every connection is relayed (two descriptors each in the proxy).
            for (var i = 0; i < ceiling; i++)
            {
                var c = await Net.ConnectAsync(relay);
                held.Add(c);
                await EchoesAsync(c, $"held {i}");
            }

            var atCeiling = ProcessStats.OpenFds(p.Pid);
            output.WriteLine($"{atCeiling} descriptors open at the ceiling (limit {NoFile})");

            // 400 more arrive in waves of 100, each within the headroom the ceiling keeps: every one is
            // closed at once and the kernel never runs out (the build before this accepted them all as
            // relays: out of descriptors, then dead).
            const int Wave = 100;
            Assert.True(atCeiling + Wave < NoFile, $"{atCeiling} descriptors at the ceiling leave no room for a wave of {Wave}");
            for (var wave = 0; wave < 4; wave++) await FloodAsync(relay, Wave, flood);
            Assert.DoesNotContain("TooManyOpenSockets", p.Stdout);

            // 400 at once: more than the headroom. Akka.IO accepts them regardless (it cannot pause its
            // accepts), so the kernel may run out for a moment and Akka.IO retries its accepts; each is
            // still closed at once, and the process and its connections live on.
            await FloodAsync(relay, 400, flood);
            output.WriteLine($"Akka.IO accept retries (TooManyOpenSockets) during the burst: {Regex.Count(p.Stdout, "TooManyOpenSockets")}");

            // Alive, and the established ones still relay.
            Assert.False(p.HasExited, p.Stderr);
            for (var i = 0; i < held.Count; i++) await EchoesAsync(held[i], $"still {i}");
            Assert.Equal(1, Regex.Count(p.Stdout, $"connection ceiling {ceiling} reached \\(first refused on server relay at 127.0.0.1:{port}\\)"));
        }
        finally
        {
            foreach (var s in flood) s.Dispose();
            foreach (var s in held) s.Dispose();
        }

        // The clients leave: the episode ends (once), and new clients are served again.
        await p.WaitForOutputAsync("connections below the ceiling again", TimeSpan.FromSeconds(20));
        using (var again = await Net.ConnectAsync(relay)) await EchoesAsync(again, "served again");
        var metrics = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(new IPEndPoint(IPAddress.Loopback, health), "/metrics")).Body);
        Assert.Equal(800, metrics.Value("l4p_connections_total", ("server", "relay"), ("upstream", "-"), ("result", "rejected_max_connections")));
        Assert.Equal(ceiling, metrics.Value("l4p_max_connections"));
        Assert.Equal(1, Regex.Count(p.Stdout, "connection ceiling \\d+ reached"));
        Assert.Equal(1, Regex.Count(p.Stdout, "connections below the ceiling again"));
        Assert.False(p.HasExited, p.Stderr);
    }

    [Fact]
    public async Task Max_connections_in_the_config_lowers_the_ceiling()
    {
        var port = TestPorts.Free();
        var path = Path.Combine(_dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $"version: 1\nmax_connections: 3\nservers:\n  e: {{ listen: [\"127.0.0.1:{port}\"], default: echo }}\n");
        using var p = new HostProcess($"--config {path}", prefix: ["prlimit", $"--nofile={NoFile}"]);
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        Assert.Contains("connection ceiling 3: max_connections 3 from the config (RLIMIT_NOFILE soft limit 640", p.Stdout);
        var at = new IPEndPoint(IPAddress.Loopback, port);
        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                held.Add(await Net.ConnectAsync(at));
                await EchoesAsync(held[^1], $"e{i}");
            }
            using var fourth = await Net.ConnectAsync(at);
            Assert.True(await Net.IsClosedByPeerAsync(fourth, TimeSpan.FromSeconds(5)));
            await p.WaitForOutputAsync("connection ceiling 3 reached (first refused on server e", TimeSpan.FromSeconds(5));
        }
        finally
        {
            foreach (var s in held) s.Dispose();
        }
    }

    /// <summary><paramref name="count"/> clients connect at once; the proxy must close every one.</summary>
    private static async Task FloodAsync(IPEndPoint at, int count, List<Socket> keep)
    {
        var wave = await Task.WhenAll(Enumerable.Range(0, count).Select(_ => Net.ConnectAsync(at)));
        keep.AddRange(wave);
        var closed = await Task.WhenAll(wave.Select(c => Net.IsClosedByPeerAsync(c, TimeSpan.FromSeconds(20))));
        Assert.All(closed, Assert.True);
    }

    private static async Task EchoesAsync(Socket c, string text)
    {
        var bytes = Encoding.ASCII.GetBytes(text);
        await c.SendAsync(bytes);
        Assert.Equal(text, Encoding.ASCII.GetString(await Net.ReadExactlyAsync(c, bytes.Length)));
    }
}
