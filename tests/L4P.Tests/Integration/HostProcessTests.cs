using System.Net.Sockets;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;

namespace L4P.Tests.Integration;

/// <summary>The executable as an operator runs it: CLI, exit codes, signals.</summary>
public sealed class HostProcessTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("l4p-host-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string Write(string yaml)
    {
        var path = Path.Combine(_dir, $"{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, yaml);
        return path;
    }

    [Fact]
    public async Task Check_accepts_a_valid_config_with_exit_0()
    {
        var path = Write($"version: 1\nservers:\n  e:\n    listen: [\"127.0.0.1:{TestPorts.Free()}\"]\n    default: echo\n");
        using var p = new HostProcess($"--check --config {path}");
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("config OK", p.Stdout);
    }

    [Fact]
    public async Task Check_and_start_say_once_that_health_pages_moved_to_admin()
    {
        var port = TestPorts.Free();
        var path = Write($"version: 1\nservers:\n  hc:\n    listen: [\"127.0.0.1:{port}\"]\n    default: health\n");
        const string moved = "servers.hc: the built-in health now answers /health only; /status, /status.json, /metrics and /cluster moved to the built-in admin";
        using (var check = new HostProcess($"--check --config {path}"))
        {
            Assert.Equal(0, await check.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("config OK", check.Stdout);
            var err = check.Stderr.Trim();
            Assert.DoesNotContain('\n', err);
            Assert.StartsWith("l4p: warning: " + moved, err);
        }

        using var p = new HostProcess($"--config {path}");
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        var (_, body) = await Net.HttpGetAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port), "/metrics");
        Assert.Equal("not found\n", body);
        p.Signal(HostProcess.SIGTERM);
        await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Single(p.Stdout.Split('\n'), l => l.Contains(moved, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Check_gives_no_advice_when_an_admin_server_exists()
    {
        var path = Write($"version: 1\nservers:\n  hc: {{ listen: [\"127.0.0.1:{TestPorts.Free()}\"], default: health }}\n  adm: {{ listen: [\"127.0.0.1:{TestPorts.Free()}\"], default: admin }}\n");
        using var p = new HostProcess($"--check --config {path}");
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal("", p.Stderr.Trim());
    }

    [Fact]
    public async Task Check_rejects_a_bad_config_with_one_line_and_exit_2()
    {
        var path = Write("version: 1\nservers:\n  e:\n    listen: [\"127.0.0.1:99999\"]\n");
        using var p = new HostProcess($"--check -c {path}");
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        var err = p.Stderr.Trim();
        Assert.DoesNotContain('\n', err);
        Assert.Contains($"{path}:4:", err);
        Assert.Contains("servers.e.listen[0]", err);
        Assert.Contains("bad port '99999'", err);
    }

    [Fact]
    public async Task L4P_CONFIG_is_used_when_no_flag_is_given()
    {
        var path = Write("version: 3\nservers: {}\n");
        using var p = new HostProcess("--check", new Dictionary<string, string> { ["L4P_CONFIG"] = path });
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("unsupported version '3'", p.Stderr);
    }

    [Fact]
    public async Task No_config_prints_help_and_exits_2()
    {
        using var p = new HostProcess("", workingDirectory: _dir);
        Assert.Equal(2, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("no config file", p.Stderr);
        Assert.Contains("--config", p.Stdout);
        Assert.Contains("--check", p.Stdout);
    }

    [Fact]
    public async Task Version_prints_the_version()
    {
        using var p = new HostProcess("--version");
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Matches(@"^\d+\.\d+\.\d+", p.Stdout.Trim());
    }

    [Fact]
    public async Task A_listen_address_in_use_exits_1_naming_it()
    {
        using var squatter = new TcpListener(System.Net.IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((System.Net.IPEndPoint)squatter.LocalEndpoint).Port;
        var path = Write($"version: 1\nservers:\n  web:\n    listen: [\"127.0.0.1:{port}\"]\n    default: echo\n");
        using var p = new HostProcess($"--config {path}");
        Assert.Equal(1, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains($"cannot listen on 127.0.0.1:{port} (servers.web.listen)", p.Stderr);
    }

    [Fact]
    public async Task Sigterm_lets_a_relay_in_flight_finish_then_exits_0()
    {
        // A backend that answers slowly: the relay is still running when SIGTERM arrives.
        await using var backend = new TcpBackend(async s =>
        {
            await Net.ReadToEndAsync(s);
            for (var i = 0; i < 10; i++)
            {
                await s.SendAsync(new byte[1000]);
                await Task.Delay(150);
            }
            s.Shutdown(SocketShutdown.Send);
        });
        var listen = TestPorts.Free();
        var path = Write($"""
            version: 1
            servers:
              web:
                listen: ["127.0.0.1:{listen}"]
                default: slow
            upstream:
              slow: "tcp://127.0.0.1:{backend.Endpoint.Port}"
            """);
        using var p = new HostProcess($"--config {path}");
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));

        using var client = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, listen));
        client.Shutdown(SocketShutdown.Send);
        var reading = Net.ReadToEndAsync(client);
        await Task.Delay(300);
        p.Signal(HostProcess.SIGTERM);
        await p.WaitForOutputAsync("draining 1 connection", TimeSpan.FromSeconds(10));

        // While draining, a newcomer is closed at once.
        using (var late = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, listen)))
            Assert.True(await Net.IsClosedByPeerAsync(late, TimeSpan.FromSeconds(2)));

        Assert.Equal(10_000, (await reading).Length);
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("all connections finished", p.Stdout);
        // Then the port is closed.
        await Assert.ThrowsAnyAsync<SocketException>(() => Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, listen)));
    }

    [Fact]
    public async Task Every_duration_at_its_maximum_works_through_start_traffic_reload_and_stop()
    {
        // 4294967294 ms (~49.7 days) is the longest a config may give (longer is refused at load). Each
        // of these once reached a .NET timer or cancellation source that refused it at first use: the
        // nameserver client's timeout at start, the host's stop timeout (shutdown_timeout + 15 s) at SIGTERM.
        const string max = "4294967294ms";
        await using var backend = TcpBackend.Echo();
        using var dns = new Dnsmasq("127.0.0.1 echo.test\n");
        var plain = TestPorts.Free();
        var tls = TestPorts.Free();
        var path = Write($$"""
            version: 1
            shutdown_timeout: {{max}}
            resolver: { nameservers: ["{{dns.Endpoint}}"], interval: {{max}}, retry: {{max}}, timeout: {{max}}, min_ttl: {{max}} }
            servers:
              plain:
                listen: ["127.0.0.1:{{plain}}"]
                default: b
                timeouts: { connect: {{max}}, idle: {{max}}, client_hello: {{max}} }
              tls:
                listen: ["127.0.0.1:{{tls}}"]
                tls: true
                default: b
                via: { connect_timeout: {{max}}, stats_interval: {{max}} }
            upstream:
              b:
                target: "tcp4://echo.test:{{backend.Endpoint.Port}}"
                check: { interval: {{max}}, timeout: {{max}} }
                outlier: { eject_for: {{max}} }
            """);
        using var p = new HostProcess($"--config {path}");
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));

        async Task EchoesAsync()
        {
            using (var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, plain)))
            {
                await c.SendAsync("ping"u8.ToArray());
                Assert.Equal("ping"u8.ToArray(), await Net.ReadExactlyAsync(c, 4));
            }
            using (var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, tls)))
            {
                var hello = HelloBuilder.Hello("a.test");
                await c.SendAsync(hello);
                Assert.Equal(hello, await Net.ReadExactlyAsync(c, hello.Length));
            }
        }

        await EchoesAsync();
        p.Signal(HostProcess.SIGHUP); // the old router retires after twice client_hello
        await p.WaitForOutputAsync("reloaded", TimeSpan.FromSeconds(30));
        await EchoesAsync();
        p.Signal(HostProcess.SIGTERM);
        Assert.Equal(0, await p.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("all connections finished", p.Stdout);
        Assert.DoesNotContain("Exception", p.Stdout + p.Stderr);
    }

    [Fact]
    public async Task A_fresh_process_serves_its_first_burst_of_connections_without_stalling()
    {
        // Regression: Akka's scheduler starts its worker thread on the first timer and blocks whoever
        // schedules meanwhile; 50 first connections each starting an idle timer blocked the whole thread
        // pool of a fresh process for ~9 s. Every connection must now answer well within that.
        await using var backend = TcpBackend.Echo();
        var port = TestPorts.Free();
        var path = Write($"version: 1\nservers:\n  p: {{ listen: [\"127.0.0.1:{port}\"], default: b, maxclients: 500 }}\nupstream:\n  b: \"tcp://{backend.Endpoint}\"\n");
        using var host = new HostProcess($"--config {path}");
        await host.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        var watch = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, 50).Select(async i =>
        {
            using var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
            var word = System.Text.Encoding.ASCII.GetBytes($"hello {i:D2}");
            await c.SendAsync(word);
            Assert.Equal(word, await Net.ReadExactlyAsync(c, word.Length, TimeSpan.FromSeconds(30)));
        }));
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(6), $"the first 50 connections took {watch.Elapsed.TotalSeconds:F1} s");
    }
}

public sealed class JsonLogTests
{
    [Fact]
    public async Task A_hostile_proxy_status_line_reaches_the_json_log_escaped()
    {
        // JSON encoding alone would carry the ESC and the CR through to whoever decodes the line.
        await using var fakeProxy = new TcpBackend(async s =>
        {
            var b = new byte[1];
            var head = "";
            while (!head.EndsWith("\r\n\r\n", StringComparison.Ordinal) && await s.ReceiveAsync(b) == 1) head += (char)b[0];
            await s.SendAsync("HTTP/1.1 403 No\" \u001b]0;owned\u0007\rX\r\n\r\n"u8.ToArray());
        });
        var dir = Directory.CreateTempSubdirectory("l4p-json-").FullName;
        var port = TestPorts.Free();
        var path = Path.Combine(dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            log_format: json
            servers:
              s:
                listen: ["127.0.0.1:{{port}}"]
                default: corp
                via: { target: "t.test:443" }
            upstream:
              corp: "tcp://127.0.0.1:{{fakeProxy.Endpoint.Port}}"
            """);
        using var p = new HostProcess($"--config {path}");
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        using (var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port)))
        {
            await c.SendAsync("hello"u8.ToArray());
            await Net.ReadToEndAsync(c);
        }
        await p.WaitForOutputAsync("proxy_status_403", TimeSpan.FromSeconds(10));
        p.Signal(HostProcess.SIGTERM);
        await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Directory.Delete(dir, true);

        var line = p.Stdout.Split('\n').Single(l => l.Contains("proxy_status_403"));
        using var json = System.Text.Json.JsonDocument.Parse(line);
        var message = json.RootElement.GetProperty("Message").GetString()!;
        var reason = json.RootElement.GetProperty("State").GetProperty("Reason").GetString()!;
        const string expected = @"proxy refused CONNECT t.test:443: HTTP/1.1 403 No\x22 \x1b]0;owned\x07\x0dX";
        Assert.Equal(expected, reason);
        Assert.EndsWith($"reason=\"{expected}\"", message);
    }
}

public sealed class SystemdTests
{
    [Fact]
    public async Task Under_systemd_it_notifies_ready_after_binding_and_stopping_on_sigterm()
    {
        var dir = Directory.CreateTempSubdirectory("l4p-systemd-").FullName;
        var config = Path.Combine(dir, "l4p.yaml");
        await File.WriteAllTextAsync(config, $"version: 1\nservers:\n  e:\n    listen: [\"127.0.0.1:{TestPorts.Free()}\"]\n    default: echo\n");
        var script = Path.Combine(PrometheusSamples.RepoRoot(), "tests", "tools", "fake_systemd.py");
        var host = Path.Combine(AppContext.BaseDirectory, "L4P.Host.dll");
        var (code, stdout, stderr) = await Tools.RunAsync("/usr/bin/python3", $"{script} dotnet {host} --config {config}", TimeSpan.FromSeconds(60));
        Directory.Delete(dir, true);
        Assert.True(code == 0, stdout + stderr);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Contains("READY=1", lines[0]);
        Assert.Contains(lines, l => l.Contains("STOPPING=1"));
        Assert.Equal("exit=0", lines[^1]);
    }
}

public sealed class SecretsTests
{
    [Fact]
    public async Task Credentials_from_the_config_never_reach_the_logs_even_at_debug()
    {
        const string secret = "c3VwZXI6c2VjcmV0LXZhbHVl";
        var request = new TaskCompletionSource<string>();
        await using var fakeProxy = new TcpBackend(async s =>
        {
            var head = new System.Text.StringBuilder();
            var b = new byte[1];
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await s.ReceiveAsync(b) == 1) head.Append((char)b[0]);
            request.TrySetResult(head.ToString());
            await s.SendAsync("HTTP/1.1 407 Proxy Authentication Required\r\n\r\n"u8.ToArray());
        });
        var dir = Directory.CreateTempSubdirectory("l4p-secret-").FullName;
        var port = TestPorts.Free();
        var path = Path.Combine(dir, "l4p.yaml");
        await File.WriteAllTextAsync(path, $$"""
            version: 1
            log: trace
            servers:
              s:
                listen: ["127.0.0.1:{{port}}"]
                default: corp
                via: { target: "t.test:443", headers: { Proxy-Authorization: "Basic ${PROXY_SECRET}" } }
            upstream:
              corp: "tcp://127.0.0.1:{{fakeProxy.Endpoint.Port}}"
            """);
        using var p = new HostProcess($"--config {path}", new Dictionary<string, string> { ["PROXY_SECRET"] = secret });
        await p.WaitForOutputAsync("started with", TimeSpan.FromSeconds(30));
        using (var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port)))
        {
            await c.SendAsync("hello"u8.ToArray());
            await Net.ReadToEndAsync(c);
        }
        await p.WaitForOutputAsync("result=proxy_status_407", TimeSpan.FromSeconds(10));
        p.Signal(HostProcess.SIGTERM);
        await p.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Directory.Delete(dir, true);

        Assert.Contains($"Proxy-Authorization: Basic {secret}", await request.Task); // it was sent...
        Assert.Contains("dbug:", p.Stdout);                                            // ...debug logging was on...
        Assert.DoesNotContain(secret, p.Stdout + p.Stderr);                            // ...and it was never logged.
    }
}
