using System.Diagnostics;
using System.Text;
using Akka.Actor;
using Akka.Dispatch.MessageQueues;
using Akka.Hosting;
using L4P.Config;
using L4P.Hosting;
using L4P.Proxy;
using L4P.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Xunit;

namespace L4P.Tests.Hosting;

/// <summary>L4P hosted in someone else's application: one WithL4P call, and nothing of theirs changed.</summary>
public sealed class EmbeddingTests
{
    /// <summary>The application's own actor: counts its restarts, reports its mailbox queue and dispatcher.</summary>
    private sealed class AppActor : ActorBase
    {
        public static int Restarts;

        protected override void PreRestart(Exception reason, object message) => Interlocked.Increment(ref Restarts);

        protected override bool Receive(object message)
        {
            switch (message)
            {
                case "boom":
                    throw new InvalidOperationException("the app's own failure");
                case "who":
                    var cell = (ActorCell)Context;
                    Sender.Tell((cell.Mailbox!.MessageQueue.GetType(), cell.Props.Dispatcher, cell.Props.Mailbox));
                    return true;
                default:
                    return false;
            }
        }
    }

    [Fact]
    public async Task An_app_hosts_the_proxy_with_one_WithL4P_call_and_keeps_its_own_mailbox_dispatcher_and_supervision()
    {
        var port = TestPorts.Free();
        var config = ConfigLoader.Parse($$"""
            version: 1
            servers:
              echo: { listen: ["127.0.0.1:{{port}}"], default: echo }
            """, "embedded.yaml", _ => null);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddL4P(config);
        builder.Services.AddAkka("app", (akka, _) => akka
            .WithL4P(config)
            .WithActors((system, registry) => registry.Register<AppActor>(system.ActorOf(Props.Create(() => new AppActor()), "mine"))));
        using var host = builder.Build();
        await host.StartAsync().WaitAsync(TimeSpan.FromSeconds(20));
        try
        {
            // The proxy runs: echo answers on the configured address.
            using (var c = await Net.ConnectAsync(config.Servers[0].Listen[0]))
            {
                await c.SendAsync("ping"u8.ToArray());
                Assert.Equal("ping"u8.ToArray(), await Net.ReadExactlyAsync(c, 4));
            }

            // The app's actor: Akka's default queue and dispatcher, and Akka's default supervision (restart).
            var system = host.Services.GetRequiredService<ActorSystem>();
            var mine = await host.Services.GetRequiredService<IRequiredActor<AppActor>>().GetAsync();
            var (queue, dispatcher, _) = await mine.Ask<(Type, string, string)>("who", TimeSpan.FromSeconds(5));
            Assert.Equal(typeof(UnboundedMessageQueue), queue);
            Assert.Equal("akka.actor.default-dispatcher", dispatcher);
            var before = AppActor.Restarts;
            mine.Tell("boom");
            var after = await mine.Ask<(Type, string, string)>("who", TimeSpan.FromSeconds(5)); // still alive: restarted, not stopped
            Assert.Equal(typeof(UnboundedMessageQueue), after.Item1);
            Assert.Equal(before + 1, AppActor.Restarts);

            // And the system-wide settings are Akka's own.
            var akka = system.Settings.Config;
            Assert.Equal("Akka.Dispatch.UnboundedMailbox", akka.GetString("akka.actor.default-mailbox.mailbox-type"));
            Assert.Equal("Akka.Actor.DefaultSupervisorStrategy", akka.GetString("akka.actor.guardian-supervisor-strategy"));
            Assert.Equal("default-executor", akka.GetString("akka.actor.default-dispatcher.executor"));
            Assert.True(akka.GetBoolean("akka.coordinated-shutdown.run-by-clr-shutdown-hook"));
            Assert.Equal(4096L, akka.GetByteSize("akka.io.tcp.maximum-frame-size"));

            // The typed reload result.
            var proxy = host.Services.GetRequiredService<L4PProxy>();
            var reloaded = await proxy.ReloadAsync(config);
            Assert.Equal(ReloadOutcome.Applied, reloaded.Outcome);
            Assert.Equal(2, (await proxy.GetStateAsync()).Generation);
            Assert.Equal(ReloadOutcome.Invalid, (await proxy.ReloadFileAsync("/nonexistent/l4p.yaml")).Outcome);
        }
        finally
        {
            await host.StopAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    [Fact]
    public async Task The_sample_worker_relays_through_its_embedded_proxy_and_its_own_actor_reports_the_state()
    {
        var backendGot = new TaskCompletionSource<string>();
        await using var backend = new TcpBackend(async s =>
        {
            var got = Encoding.ASCII.GetString(await Net.ReadExactlyAsync(s, 5));
            await s.SendAsync(Encoding.ASCII.GetBytes(got.ToUpperInvariant()));
            backendGot.TrySetResult(got);
            await Net.ReadToEndAsync(s);
        });
        var port = TestPorts.Free();
        var yaml = Path.Combine(Path.GetTempPath(), $"l4p-sample-{port}.yaml");
        await File.WriteAllTextAsync(yaml, $$"""
            version: 1
            servers:
              web: { listen: ["127.0.0.1:{{port}}"], default: app }
            upstream:
              app: "tcp://127.0.0.1:{{backend.Endpoint.Port}}"
            """);
        var output = new StringBuilder();
        var psi = new ProcessStartInfo("dotnet", $"\"{Path.Combine(AppContext.BaseDirectory, "L4P.Sample.Worker.dll")}\" --config \"{yaml}\"")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        using var sample = Process.Start(psi)!;
        sample.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        sample.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        sample.BeginOutputReadLine();
        sample.BeginErrorReadLine();
        string Output() { lock (output) return output.ToString(); }
        async Task WaitFor(string text)
        {
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
            while (!Output().Contains(text, StringComparison.Ordinal))
            {
                Assert.True(DateTime.UtcNow < deadline, $"no '{text}' in the sample's output:\n{Output()}");
            }
        }
        try
        {
            await WaitFor($"listening on 127.0.0.1:{port}");
            using var c = await Net.ConnectAsync(new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, port));
            await c.SendAsync("hello"u8.ToArray());
            Assert.Equal("HELLO"u8.ToArray(), await Net.ReadExactlyAsync(c, 5));
            Assert.Equal("hello", await backendGot.Task.WaitAsync(TimeSpan.FromSeconds(5)));
            // The app's own actor asked the proxy root for its state (once a second) while the connection was open.
            await WaitFor($"servers web on 127.0.0.1:{port} active=1; upstreams app -> 127.0.0.1:{backend.Endpoint.Port}");
        }
        finally
        {
            sample.Kill(entireProcessTree: true);
            await sample.WaitForExitAsync();
            File.Delete(yaml);
        }
    }
}
