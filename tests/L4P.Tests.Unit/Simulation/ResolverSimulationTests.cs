using System.Net;
using Akka.Actor;
using Akka.TestKit;
using Akka.TestKit.Xunit2;
using L4P.Config;
using L4P.Metrics;
using L4P.Resolution;
using L4P.Testing;
using L4P.Tests.Support;
using Microsoft.Extensions.Logging;
using Xunit;

namespace L4P.Tests.Simulation;

/// <summary>The Resolver on virtual time (TestScheduler) with scripted DNS answers: no sleeping, no network.</summary>
public sealed class ResolverSimulationTests() : TestKit("akka.scheduler.implementation = \"Akka.TestKit.TestScheduler, Akka.TestKit\"")
{
    private readonly ScriptedDns _dns = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ProxyMetrics _metrics = new(processMetrics: false);
    private TestScheduler Clock => (TestScheduler)Sys.Scheduler;

    private sealed class ProbePublisher(IActorRef probe) : IBackendsPublisher
    {
        public void Publish(BackendsChanged change) => probe.Tell(change);
    }

    private (TestProbe Changes, IActorRef Resolver) Start(string upstreams, string resolver = "interval: 60s\n  retry: 3s")
    {
        var config = ConfigLoader.Parse($"""
            version: 1
            resolver:
              {resolver}
            servers:
              s: {"{"} listen: ["127.0.0.1:1"] {"}"}
            upstream:
            {upstreams}
            """, "r.yaml", _ => null);
        var changes = CreateTestProbe();
        var log = LoggerFactory.Create(b => b.AddProvider(_logs)).CreateLogger("L4P.Resolution");
        var actor = ChildActorOf(Resolver.Props(config, _dns, new ProbePublisher(changes.Ref), log, _metrics));
        return (changes, actor);
    }

    private static IPAddress[] Ips(params string[] s) => [.. s.Select(IPAddress.Parse)];

    /// <summary>Lookups the resolver has fully handled (next one scheduled) for an upstream.</summary>
    private double Handled(string upstream) =>
        _metrics.DnsResolutions.WithLabels(upstream, "ok").Value + _metrics.DnsResolutions.WithLabels(upstream, "failed").Value;

    /// <summary>Advances virtual time, then waits until the resolver has handled lookup number <paramref name="calls"/>.</summary>
    private void AdvanceAndAwaitCalls(string upstream, TimeSpan by, int calls)
    {
        AwaitCondition(() => Handled(upstream) >= calls - 1, TimeSpan.FromSeconds(3));
        Clock.Advance(by);
        AwaitCondition(() => Handled(upstream) >= calls, TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void A_change_is_published_once_and_the_same_answer_not_again()
    {
        _dns.Answer("api.test", "10.0.0.1", "10.0.0.2");
        var (changes, _) = Start("  api: \"tcp://api.test:443\"");
        var first = changes.ExpectMsg<BackendsChanged>();
        Assert.Equal(Ips("10.0.0.1", "10.0.0.2"), first.Addresses.ToArray());
        ExpectMsg<Resolver.InitialRoundDone>();

        // Same answer, in another order: nothing published.
        _dns.Answer("api.test", "10.0.0.2", "10.0.0.1");
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(60), 2);
        changes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));

        _dns.Answer("api.test", "10.0.0.3");
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(60), 3);
        Assert.Equal(Ips("10.0.0.3"), changes.ExpectMsg<BackendsChanged>().Addresses.ToArray());
        Assert.Contains(_logs.Lines, l => l.Contains("upstream api: 10.0.0.1, 10.0.0.2 -> 10.0.0.3"));
    }

    [Fact]
    public void Not_before_the_interval()
    {
        _dns.Answer("api.test", "10.0.0.1");
        var (changes, _) = Start("  api: \"tcp://api.test:443\"");
        changes.ExpectMsg<BackendsChanged>();
        AwaitCondition(() => Handled("api") >= 1);
        Clock.Advance(TimeSpan.FromSeconds(59));
        Thread.Sleep(100);
        Assert.Equal(1, _dns.Calls("api.test"));
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(1), 2);
    }

    [Fact]
    public void A_failure_keeps_the_last_good_answer_and_retries_after_retry()
    {
        _dns.Answer("api.test", "10.0.0.1");
        var (changes, _) = Start("  api: \"tcp://api.test:443\"");
        changes.ExpectMsg<BackendsChanged>();

        _dns.Fail("api.test");
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(60), 2);
        changes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        AwaitAssert(() => Assert.Contains(_logs.Lines, l => l.Contains("lookup of api.test failed: SERVFAIL; keeping 10.0.0.1; retrying every 3s")));

        // The retry comes after `retry`, not `interval`.
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(3), 3);
        _dns.Answer("api.test", "10.0.0.9");
        AdvanceAndAwaitCalls("api", TimeSpan.FromSeconds(3), 4);
        Assert.Equal(Ips("10.0.0.9"), changes.ExpectMsg<BackendsChanged>().Addresses.ToArray());
    }

    [Fact]
    public void A_name_that_never_resolves_still_completes_the_initial_round()
    {
        _dns.Fail("gone.test", "NXDOMAIN");
        var (changes, _) = Start("  gone: \"tcp://gone.test:443\"");
        ExpectMsg<Resolver.InitialRoundDone>();
        changes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        AwaitAssert(() => Assert.Contains(_logs.Lines, l => l.Contains("no address yet")));
    }

    [Fact]
    public void Family_filtering_by_scheme()
    {
        _dns.Answer("dual.test", "10.0.0.1", "2001:db8::1");
        var (changes, _) = Start("  v4: \"tcp4://dual.test:443\"\n  v6: \"tcp6://dual.test:443\"\n  any: \"tcp://dual.test:443\"");
        var got = new[] { changes.ExpectMsg<BackendsChanged>(), changes.ExpectMsg<BackendsChanged>(), changes.ExpectMsg<BackendsChanged>() }
            .ToDictionary(c => c.Key.Family, c => c.Addresses.ToArray());
        Assert.Equal(Ips("10.0.0.1"), got[AddressFamilyFilter.IPv4]);
        Assert.Equal(Ips("2001:db8::1"), got[AddressFamilyFilter.IPv6]);
        Assert.Equal(Ips("10.0.0.1", "2001:db8::1"), got[AddressFamilyFilter.Any]);
    }

    [Fact]
    public void A_host_used_by_two_upstreams_is_looked_up_once_per_interval()
    {
        _dns.Answer("shared.test", "10.0.0.1");
        var (changes, _) = Start("  a: \"tcp://shared.test:443\"\n  b: \"tcp://shared.test:8443\"\n  lit: \"tcp://10.9.9.9:1\"");
        Assert.Equal("shared.test", changes.ExpectMsg<BackendsChanged>().Key.Host);
        changes.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        AdvanceAndAwaitCalls("a", TimeSpan.FromSeconds(60), 2);
        Thread.Sleep(100);
        Assert.Equal(2, _dns.Calls("shared.test"));
        Assert.Equal(0, _dns.Calls("10.9.9.9")); // IP literals are never resolved
    }

    [Fact]
    public void Respect_ttl_follows_the_record_clamped_to_min_ttl_and_interval()
    {
        _dns.AnswerWithTtl("ttl.test", TimeSpan.FromSeconds(10), "10.0.0.1");
        Start("  t: \"tcp://ttl.test:443\"", "nameservers: [\"127.0.0.1:5353\"]\n  respect_ttl: true\n  min_ttl: 2s\n  interval: 60s");
        AdvanceAndAwaitCalls("t", TimeSpan.FromSeconds(10), 2);

        _dns.AnswerWithTtl("ttl.test", TimeSpan.Zero, "10.0.0.1");
        AdvanceAndAwaitCalls("t", TimeSpan.FromSeconds(10), 3);
        AdvanceAndAwaitCalls("t", TimeSpan.FromSeconds(2), 4); // min_ttl, not 0

        _dns.AnswerWithTtl("ttl.test", TimeSpan.FromHours(1), "10.0.0.1");
        AdvanceAndAwaitCalls("t", TimeSpan.FromSeconds(2), 5);
        AdvanceAndAwaitCalls("t", TimeSpan.FromSeconds(60), 6); // interval caps it
    }
}
