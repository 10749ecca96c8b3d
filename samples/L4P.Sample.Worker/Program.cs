using Akka.Hosting;
using L4P.Config;
using L4P.Hosting;
using L4P.Proxy;
using L4P.Sample.Worker;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A worker service that hosts L4P next to an actor of its own. Usage: L4P.Sample.Worker [--config FILE]
var path = args.Length == 2 && args[0] == "--config" ? args[1] : Path.Combine(AppContext.BaseDirectory, "sample.yaml");
var config = ConfigLoader.LoadFile(path);

var builder = Host.CreateApplicationBuilder();
builder.Logging.AddSimpleConsole(o => o.SingleLine = true);
builder.Services.AddL4P(config);
builder.Services.AddAkka("sample", (akka, _) => akka
    .WithL4P(config)
    .WithActors((system, registry) =>
    {
        // The application's own actor reaches the proxy through the registry, like any other actor.
        var proxy = registry.Get<ProxyRoot>();
        system.ActorOf(StateReporter.Props(proxy, TimeSpan.FromSeconds(1)), "state-reporter");
    }));
await builder.Build().RunAsync();
