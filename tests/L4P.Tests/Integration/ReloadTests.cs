using System.Net;
using System.Net.Sockets;
using System.Text;
using L4P.Tests.Support;
using Xunit;

namespace L4P.Tests.Integration;

/// <summary>SIGHUP on the real executable: what changes, what stays, what an invalid file does.</summary>
public sealed class ReloadTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-reload-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static IPEndPoint Local(int port) => new(IPAddress.Loopback, port);

    private static TcpBackend Says(string word) => new(async s =>
    {
        await s.SendAsync(Encoding.ASCII.GetBytes(word));
        s.Shutdown(SocketShutdown.Send);
        await Net.ReadToEndAsync(s);
    });

    private static async Task<string> FirstWordAsync(int port)
    {
        using var c = await Net.ConnectAsync(Local(port));
        c.Shutdown(SocketShutdown.Send);
        return Encoding.ASCII.GetString(await Net.ReadToEndAsync(c));
    }

    [Fact]
    public async Task Sighup_applies_a_valid_config_without_dropping_a_relay_and_refuses_an_invalid_one()
    {
        await using var slow = new TcpBackend(async s =>
        {
            await Net.ReadToEndAsync(s);
            for (var i = 0; i < 15; i++)
            {
                await s.SendAsync(new byte[1000]);
                await Task.Delay(100);
            }
            s.Shutdown(SocketShutdown.Send);
        });
        await using var a = Says("A");
        await using var b = Says("B");
        int web = TestPorts.Free(), relay = TestPorts.Free(), old = TestPorts.Free(), extra = TestPorts.Free(), health = TestPorts.Free();
        var path = Path.Combine(_dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{web}}"], default: a }
              relay: { listen: ["127.0.0.1:{{relay}}"], default: slow }
              old: { listen: ["127.0.0.1:{{old}}"], default: echo }
              health: { listen: ["127.0.0.1:{{health}}"], default: admin }
            upstream:
              a: "tcp://127.0.0.1:{{a.Endpoint.Port}}"
              b: "tcp://127.0.0.1:{{b.Endpoint.Port}}"
              slow: "tcp://127.0.0.1:{{slow.Endpoint.Port}}"
            """);
        using var p = new HostProcess($"--config {path}");
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        Assert.Equal("A", await FirstWordAsync(web));

        using var inFlight = await Net.ConnectAsync(Local(relay));
        inFlight.Shutdown(SocketShutdown.Send);
        var reading = Net.ReadToEndAsync(inFlight);

        // web now goes to b, old is removed, extra is added; relay and health are unchanged.
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{web}}"], default: b }
              relay: { listen: ["127.0.0.1:{{relay}}"], default: slow }
              extra: { listen: ["127.0.0.1:{{extra}}"], default: echo }
              health: { listen: ["127.0.0.1:{{health}}"], default: admin }
            upstream:
              a: "tcp://127.0.0.1:{{a.Endpoint.Port}}"
              b: "tcp://127.0.0.1:{{b.Endpoint.Port}}"
              slow: "tcp://127.0.0.1:{{slow.Endpoint.Port}}"
            """);
        p.Signal(HostProcess.SIGHUP);
        await p.WaitForOutputAsync("reloaded", TimeSpan.FromSeconds(20));

        Assert.Equal("B", await FirstWordAsync(web));
        using (var e = await Net.ConnectAsync(Local(extra)))
        {
            await e.SendAsync("hi"u8.ToArray());
            Assert.Equal("hi", Encoding.ASCII.GetString(await Net.ReadExactlyAsync(e, 2)));
        }
        await Assert.ThrowsAnyAsync<SocketException>(() => Net.ConnectAsync(Local(old)));
        Assert.Equal(15_000, (await reading).Length); // the relay in flight was not dropped

        // An invalid file: refused with the same one line as at start; the running config stays.
        await File.WriteAllTextAsync(path, "version: 1\nservers:\n  web: { listen: [\"127.0.0.1:1\"], default: nope }\n");
        p.Signal(HostProcess.SIGHUP);
        await p.WaitForOutputAsync("reload refused", TimeSpan.FromSeconds(20));
        Assert.Contains($"{path}:3:", p.Stdout);
        Assert.Contains("servers.web.default: unknown upstream 'nope'", p.Stdout);
        Assert.Equal("B", await FirstWordAsync(web));

        var samples = await PrometheusSamples.ParseAsync((await Net.HttpGetAsync(Local(health), "/metrics")).Body);
        Assert.Equal(1, samples.Value("l4p_config_reloads_total", ("result", "ok")));
        Assert.Equal(1, samples.Value("l4p_config_reloads_total", ("result", "invalid")));
        Assert.True(samples.Has("process_cpu_seconds_total") && samples.Has("process_working_set_bytes"));

        p.Signal(HostProcess.SIGTERM);
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }
}
