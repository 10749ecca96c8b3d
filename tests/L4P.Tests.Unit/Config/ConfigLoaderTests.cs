using System.Net;
using L4P.Config;
using Xunit;

namespace L4P.Tests.Config;

public sealed class ConfigLoaderTests
{
    private static readonly Dictionary<string, string> Env = new()
    {
        ["ENCODED_PW"] = "dXNlcjpwYXNz",
        ["HOST"] = "api.internal",
        ["EVIL"] = "x\r\nInjected: yes",
    };

    private static ProxyConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "l4p.yaml", n => Env.GetValueOrDefault(n));

    private static string Error(string yaml) => Assert.Throws<ConfigException>(() => Parse(yaml)).Message;

    // The seed layer4-proxy README's example, with its top-level anchor holder.
    private const string SeedExample = """
        version: 1
        log: debug

        via: &viaanchor
          target: www.test1.com:4433
          headers:
            Proxy-Authorization: "Basic ${ENCODED_PW}"
            X-Custom: "static $$ literal"

        servers:
          proxy_server:
            listen:
              - "0.0.0.0:8443"
              - "[::]:8443"
            tls: true
            sni:
              api.example.com: api
              "*.example.org": corp
              intern.corp.org:
                upstream: direct
                via: {}
            default: ban
            via: *viaanchor
          health:
            listen: ["127.0.0.1:8080"]
            default: health
          echo_server:
            listen: ["127.0.0.1:5000"]
            default: echo

        upstream:
          api: "tcp://$HOST:443"
          corp: "tcp6://[::1]:3128"
          direct: "tcp4://127.0.0.1:443"
        """;

    // tls-proxy-tunnel v4's README example.
    private const string TptExample = """
        version: 1
        log: info
        log-format: txt

        servers:
          proxy_server:
            listen:
              - "0.0.0.0:8443"
            tls: true
            sni:
              www.example.com: corp_proxy
              intern.corp.org:
                upstream: direct_host
                via: {}
              api.example.com:
                upstream: corp_proxy
                via:
                  target: "api.example.com:8443"
                  connect_timeout: 10s
            default: ban
            maxclients: 100
            via:
              use_sni_as_target: true
              target_port: 443
              connect_timeout: 30s
              stats_interval: 30s

          health_server:
            listen:
              - "127.0.0.1:8080"
            default: health

        upstream:
          corp_proxy: "tcp://proxy.internal:3128"
          direct_host: "tcp://10.0.0.5:443"
        """;

    [Fact]
    public void Seed_example_parses_with_anchor_and_env()
    {
        var c = Parse(SeedExample);
        Assert.Equal(1, c.Version);
        Assert.Equal(LogSetting.Debug, c.Log);
        var s = c.Servers.Single(x => x.Name == "proxy_server");
        Assert.Equal([IPEndPoint.Parse("0.0.0.0:8443"), IPEndPoint.Parse("[::]:8443")], s.Listen.ToArray());
        Assert.True(s.Tls);
        Assert.Equal("ban", s.Default);
        Assert.Equal(100, s.MaxClients);
        Assert.Equal("www.test1.com:4433", s.Via.Target);
        Assert.True(s.Via.IsActive);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Via.ConnectTimeout);
        Assert.Equal(new KeyValuePair<string, string>("Proxy-Authorization", "Basic dXNlcjpwYXNz"), s.Via.Headers[0]);
        Assert.Equal("static $ literal", s.Via.Headers[1].Value);
        Assert.Equal(["api.example.com", "*.example.org", "intern.corp.org"], s.Sni.Select(r => r.Pattern));
        Assert.Null(s.Sni[0].Via);
        Assert.Same(ViaConfig.None, s.Sni[2].Via);
        var api = Assert.IsType<TcpUpstreamConfig>(c.Upstreams["api"]);
        Assert.Equal(("api.internal", 443, AddressFamilyFilter.Any), (api.Targets[0].Host, api.Targets[0].Port, api.Targets[0].Family));
        Assert.Equal(AddressFamilyFilter.IPv6, ((TcpUpstreamConfig)c.Upstreams["corp"]).Targets[0].Family);
        Assert.Equal(IPAddress.Parse("127.0.0.1"), ((TcpUpstreamConfig)c.Upstreams["direct"]).Targets[0].Literal);
        Assert.IsType<BuiltinUpstreamConfig>(c.Upstreams["health"]);
    }

    // The seed layer4-proxy README's "minimal viable example", as written there: its via target has no
    // port, and its two servers share one address.
    private const string SeedReadmeMinimal = """
        version: 1
        log: info

        via: &viaanchor
          target: www.test1.com
          headers:
            Host: www.test1.com
            Proxy-Authorization: basic ${ENCODED_PW}
            Proxy-KeepAlive: true

        servers:
          proxy_server:
            listen:
              - "127.0.0.1:8081"
            default: remote
            via:
              *viaanchor
          health-server:
            listen: [ "127.0.0.1:8081" ]
            default: health
            via:
              *viaanchor

        upstream:
          remote: "tcp://www.remote.example.com:8082" # proxy to remote address
        """;

    [Fact]
    public void Seed_readme_minimal_example_loads_once_its_duplicate_address_is_fixed()
    {
        // As written, the duplicate address stays an error, with the clear line.
        Assert.Equal("l4p.yaml:19:5: servers.health-server.listen: duplicate listen address 127.0.0.1:8081 (already used by servers.proxy_server)",
            Error(SeedReadmeMinimal));

        var c = Parse(SeedReadmeMinimal.Replace("listen: [ \"127.0.0.1:8081\" ]", "listen: [ \"127.0.0.1:8082\" ]", StringComparison.Ordinal));
        var s = c.Servers.Single(x => x.Name == "proxy_server");
        // No port in via.target means 443, as target_port's default.
        Assert.Equal("www.test1.com:443", s.Via.Target);
        Assert.True(s.Via.IsActive);
        Assert.Equal(
            [new("Host", "www.test1.com"), new("Proxy-Authorization", "basic dXNlcjpwYXNz"), new("Proxy-KeepAlive", "true")],
            s.Via.Headers.ToArray());
        Assert.Equal("www.test1.com:443", c.Servers.Single(x => x.Name == "health-server").Via.Target);
    }

    [Theory]
    [InlineData("www.test1.com", "www.test1.com:443")]
    [InlineData("www.test1.com:8443", "www.test1.com:8443")]
    [InlineData("10.0.0.1", "10.0.0.1:443")]
    [InlineData("[2001:db8::1]", "[2001:db8::1]:443")]
    [InlineData("[2001:db8::1]:3128", "[2001:db8::1]:3128")]
    public void Via_target_without_a_port_means_443(string written, string target)
    {
        var c = Parse($"version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via: {{ target: \"{written}\" }}\n");
        Assert.Equal(target, c.Servers[0].Via.Target);
    }

    [Theory]
    // tls-proxy-tunnel's refused-upstream test: a via without a target sets the direct connect timeout.
    [InlineData("via: { connect_timeout: 2s }", 2000)]
    [InlineData("via: { use_sni_as_target: false, connect_timeout: 3s }", 3000)]
    // An explicit timeouts.connect wins, whichever comes first.
    [InlineData("via: { connect_timeout: 2s }\n    timeouts: { connect: 5s }", 5000)]
    [InlineData("timeouts: { connect: 5s }\n    via: { connect_timeout: 2s }", 5000)]
    [InlineData("timeouts: { idle: 1m }\n    via: { connect_timeout: 2s }", 2000)]
    // An active via keeps connect_timeout for the proxy; direct connects keep the default.
    [InlineData("via: { target: \"p.test:443\", connect_timeout: 2s }", 10_000)]
    [InlineData("via: { use_sni_as_target: true, connect_timeout: 2s }", 10_000)]
    [InlineData("via: {}", 10_000)]
    public void Via_connect_timeout_without_a_target_is_the_direct_connect_timeout(string keys, int connectMs)
    {
        var c = Parse($"version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    {keys}\n");
        Assert.Equal(TimeSpan.FromMilliseconds(connectMs), c.Servers[0].Timeouts.Connect);
    }

    private const string Server = "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: u\n";
    private const string Upstream = "upstream:\n  u: { target: \"tcp://h:1\" }\n";

    /// <summary>Every duration key of every family, each with <c>{0}</c> for its value.</summary>
    public static TheoryData<string, string> DurationKeys => new()
    {
        { "version: 1\nshutdown_timeout: {0}\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "shutdown_timeout" },
        { "version: 1\nresolver: { interval: {0} }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "resolver.interval" },
        { "version: 1\nresolver: { retry: {0} }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "resolver.retry" },
        { "version: 1\nresolver: { timeout: {0} }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "resolver.timeout" },
        { "version: 1\nresolver: { min_ttl: {0} }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "resolver.min_ttl" },
        { Server + "    timeouts: { connect: {0} }\n" + Upstream, "servers.a.timeouts.connect" },
        { Server + "    timeouts: { client_hello: {0} }\n" + Upstream, "servers.a.timeouts.client_hello" },
        { Server + "    timeouts: { idle: {0} }\n" + Upstream, "servers.a.timeouts.idle" },
        { Server + "    client_hello_timeout: {0}\n" + Upstream, "servers.a.client_hello_timeout" },
        { Server + "    via: { target: \"p:1\", connect_timeout: {0} }\n" + Upstream, "servers.a.via.connect_timeout" },
        { Server + "    via: { connect_timeout: {0} }\n" + Upstream, "servers.a.via.connect_timeout" },
        { Server + "    via: { target: \"p:1\", stats_interval: {0} }\n" + Upstream, "servers.a.via.stats_interval" },
        { Server + "    sni: { x.test: { upstream: u, via: { target: \"p:1\", connect_timeout: {0} } } }\n" + Upstream, "servers.a.sni.x.test.via.connect_timeout" },
        { Server + "upstream:\n  u: { target: \"tcp://h:1\", check: { interval: {0} } }\n", "upstream.u.check.interval" },
        { Server + "upstream:\n  u: { target: \"tcp://h:1\", check: { timeout: {0} } }\n", "upstream.u.check.timeout" },
        { Server + "upstream:\n  u: { target: \"tcp://h:1\", outlier: { eject_for: {0} } }\n", "upstream.u.outlier.eject_for" },
    };

    [Theory]
    [MemberData(nameof(DurationKeys))]
    public void A_duration_longer_than_dotnet_timers_allow_is_refused_at_load_naming_the_key_and_the_maximum(string template, string path)
    {
        foreach (var tooLong in new[] { "50d", "4294967295ms", "400 days", "99999999999999999999999d" })
        {
            var message = Error(template.Replace("{0}", tooLong, StringComparison.Ordinal));
            Assert.Matches($@"^l4p\.yaml:\d+:\d+: {System.Text.RegularExpressions.Regex.Escape(path)}: '{tooLong}' is too long: at most 4294967294ms \(about 49\.7 days", message);
            Assert.DoesNotContain('\n', message);
        }
        // The maximum itself, and a long but shorter one, load.
        Parse(template.Replace("{0}", "4294967294ms", StringComparison.Ordinal));
        Parse(template.Replace("{0}", "49d", StringComparison.Ordinal));
    }

    [Fact]
    public void The_longest_durations_load_as_written()
    {
        var c = Parse(Server + "    timeouts: { connect: 4294967294ms, idle: 49d, client_hello: 1h }\n" + Upstream);
        Assert.Equal(new ServerTimeouts(TimeSpan.FromHours(1), Durations.Max, TimeSpan.FromDays(49)), c.Servers[0].Timeouts);
    }

    [Fact]
    public void Tls_proxy_tunnel_v4_example_parses()
    {
        var c = Parse(TptExample);
        Assert.Equal(LogFormat.Text, c.LogFormat);
        var s = c.Servers[0];
        Assert.True(s.Via.UseSniAsTarget);
        Assert.Equal(443, s.Via.TargetPort);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Via.StatsInterval);
        var api = s.Sni.Single(r => r.Pattern == "api.example.com");
        Assert.Equal("api.example.com:8443", api.Via!.Target);
        Assert.Equal(TimeSpan.FromSeconds(10), api.Via.ConnectTimeout);
        Assert.Equal("direct_host", s.Sni.Single(r => r.Pattern == "intern.corp.org").Upstream);
    }

    [Fact]
    public void Defaults_apply_when_keys_are_absent()
    {
        var c = Parse("version: 2\nservers:\n  a:\n    listen: \"127.0.0.1:1\"\n");
        var s = c.Servers[0];
        Assert.Equal((LogSetting.Info, LogFormat.Text, TimeSpan.FromSeconds(30)), (c.Log, c.LogFormat, c.ShutdownTimeout));
        Assert.Equal(("ban", 100, false), (s.Default, s.MaxClients, s.Tls));
        Assert.Equal(ServerTimeouts.Defaults, s.Timeouts);
        Assert.False(s.Via.IsActive);
    }

    [Fact]
    public void Json_log_format_timeouts_and_merge_keys_are_read()
    {
        var c = Parse("""
            version: 2
            log: warn
            log_format: json
            shutdown_timeout: 5s
            base: &base { maxclients: 7, default: echo }
            servers:
              a:
                <<: *base
                listen: ["127.0.0.1:1"]
                timeouts: { connect: 1500ms, client_hello: 2s, http_request: 3s }
            """);
        Assert.Equal((LogSetting.Warn, LogFormat.Json, TimeSpan.FromSeconds(5)), (c.Log, c.LogFormat, c.ShutdownTimeout));
        Assert.Equal((7, "echo"), (c.Servers[0].MaxClients, c.Servers[0].Default));
        Assert.Equal(new ServerTimeouts(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(1500), TimeSpan.FromMinutes(10)) { HttpRequest = TimeSpan.FromSeconds(3) },
            c.Servers[0].Timeouts);
    }

    public static TheoryData<string, string, string> Errors => new()
    {
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    accept_proxy: true\n    accept_proxy_from: [10.0.0.0/8, nonsense]\n", "l4p.yaml:6:37: servers.a.accept_proxy_from[1]: 'nonsense' is not an address or CIDR block", "bad CIDR" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    accept_proxy_from: [10.0.0.0/8]\n", "l4p.yaml:5:24: servers.a.accept_proxy_from: has no effect without accept_proxy: true", "accept_proxy_from alone" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"\n", "l4p.yaml:5:1: invalid YAML", "bad YAML" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    lisen: x\n", "l4p.yaml:5:5: servers.a.lisen: unknown key", "unknown key" },
        { "version: 1\nfoo: 1\nservers: {}\n", "l4p.yaml:2:1: foo: unknown key", "unknown top-level key" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    maxclients: many\n", "servers.a.maxclients: expected a whole number, got 'many'", "wrong type" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    tls: maybe\n", "servers.a.tls: expected true or false", "wrong type bool" },
        { "version: 1\nservers:\n  a: [1]\n", "servers.a: expected a mapping, got a list", "wrong type mapping" },
        { "version: 3\nservers: {}\n", "l4p.yaml:1:10: version: unsupported version '3' (expected 1 or 2)", "bad version" },
        { "servers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "version: missing", "missing version" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: nope }\n", "servers.a.default: unknown upstream 'nope'", "unknown default" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    sni:\n      x.test: nope\n", "servers.a.sni.x.test: unknown upstream 'nope'", "unknown sni upstream" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n  b: { listen: [\"127.0.0.1:1\"] }\n", "servers.b.listen: duplicate listen address 127.0.0.1:1 (already used by servers.a)", "duplicate listen" },
        { "version: 1\nservers:\n  a: { listen: [\"localhost:80\"] }\n", "servers.a.listen[0]: 'localhost' is not an IP address", "listen not IP" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1\"] }\n", "servers.a.listen[0]: '127.0.0.1' has no port", "listen no port" },
        { "version: 1\nservers:\n  a: { listen: [\"[::1:80\"] }\n", "servers.a.listen[0]: '[::1:80' is not [IPv6]:port", "listen bad v6" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"udp://h:1\"\n", "upstream.u: unsupported scheme 'udp'", "bad scheme" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"h:1\"\n", "upstream.u: 'h:1' is not a URL", "not a URL" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"tcp://h:0\"\n", "upstream.u: bad port '0'", "bad port" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"tcp://h\"\n", "upstream.u: 'h' has no port", "no port" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"tcp4://[::1]:5\"\n", "upstream.u: address ::1 does not match scheme tcp4", "family mismatch" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: ban }\nupstream:\n  ban: \"tcp://h:1\"\n", "upstream.ban: 'ban' is a built-in upstream", "builtin redefined" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: \"tcp://${NOPE}:1\"\n", "upstream.u: environment variable 'NOPE' is not set", "missing env" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via:\n      target: t:1\n      headers: { X-A: \"$EVIL\" }\n", "servers.a.via.headers.X-A: header value contains CR or LF", "CRLF header" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via:\n      headers: { \"Bad Name\": v }\n", "servers.a.via.headers.Bad Name: header name is not a valid HTTP token", "header token" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    protocol: kcp\n", "servers.a.protocol: protocol 'kcp' (from fourth) is not supported", "kcp" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via: { connect_timeout: soon }\n", "servers.a.via.connect_timeout: expected a duration such as 500ms, 30s or 5m, got 'soon'", "bad duration" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via: { target: \"host:\" }\n", "servers.a.via.target: bad port '' in 'host:'", "via target empty port" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via: { target: \"::1\" }\n", "servers.a.via.target: '::1': write IPv6 addresses in brackets", "via target bare IPv6" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    via: { target: \"bad host!\" }\n", "servers.a.via.target: 'bad host!' is not a valid host name", "via target bad host" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    sni: { \"*.*.x\": echo }\n", "servers.a.sni.*.*.x: '*.*.x' is not a server name or a wildcard", "bad sni pattern" },
        { "version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    sni: { \"A.test\": echo, \"a.test.\": ban }\n", "duplicate SNI rule 'a.test'", "duplicate sni" },
        { "version: 1\nlog: loud\nservers: {}\n", "log: unknown log level 'loud'", "bad log level" },
        { "version: 1\nx: &a [1, *a]\nservers: {}\n", "l4p.yaml:2:11: invalid YAML: alias *a refers to a node that contains it", "recursive alias" },
        { "version: 1\nservers: { a: *nowhere }\n", "alias *nowhere is used before its anchor is defined", "undefined alias" },
        { "version: 1\nservers:\n  a:\n    default: echo\n", "servers.a.listen: missing", "missing listen" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { target: \"tcp://h:1\", send_proxy: v3 }\n", "upstream.u.send_proxy: unknown PROXY protocol version 'v3'", "bad send_proxy" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { send_proxy: v1 }\n", "upstream.u.target: missing", "mapping without target" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { targets: [\"tcp://h:1\", \"udp://h:2\"] }\n", "upstream.u.targets[1]: unsupported scheme 'udp'", "bad second target" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { target: \"tcp://h:1\", balance: fastest }\n", "upstream.u.balance: unknown balance 'fastest'", "bad balance" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { target: \"tcp://h:1\", check: { rise: 0 } }\n", "upstream.u.check.rise: 0 is out of range", "bad rise" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], accept_proxy: maybe }\n", "servers.a.accept_proxy: expected true or false", "bad accept_proxy" },
        { "version: 1\ncluster: { seed_nodes: [\"akka.tcp://other@h:1\"] }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "cluster.seed_nodes[0]: 'akka.tcp://other@h:1' is not an L4P node", "foreign seed" },
        { "version: 1\ncluster: { port: 0 }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "cluster.port: 0 is out of range", "bad cluster port" },
        { "version: 1\ncluster: { down_after: 0s }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "cluster.down_after: must be greater than 0", "zero down_after" },
        { "version: 1\ncluster: { seeds: [] }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "cluster.seeds: unknown key", "cluster unknown key" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n  a: { listen: [\"127.0.0.1:2\"] }\n", "invalid YAML: Duplicate key", "duplicate yaml key" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { target: \"tcp://h:1\", outlier: { failures: 0 } }\n", "upstream.u.outlier.failures: 0 is out of range", "bad outlier failures" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: u }\nupstream:\n  u: { target: \"tcp://h:1\", outlier: { eject: 5s } }\n", "upstream.u.outlier.eject: unknown key (expected failures or eject_for)", "outlier unknown key" },
        { "version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"], maxclients_scope: cluster }\n", "servers.a.maxclients_scope: 'cluster' needs cluster mode", "cluster scope standalone" },
        { "version: 1\ncluster: { enabled: true }\nservers:\n  a: { listen: [\"127.0.0.1:1\"], maxclients_scope: fleet }\n", "servers.a.maxclients_scope: unknown scope 'fleet' (expected node or cluster)", "bad scope" },
        { "version: 1\ntransport: quic\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n", "l4p.yaml:2:12: transport: unknown transport 'quic': Akka.IO is L4P's only transport (remove the key or write transport: akka)", "unknown transport" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_problem_is_one_line_naming_file_and_key_path(string yaml, string expected, string what)
    {
        var message = Error(yaml);
        Assert.True(message.Contains(expected, StringComparison.Ordinal), $"{what}: expected '{expected}' in '{message}'");
        Assert.StartsWith("l4p.yaml", message);
        Assert.DoesNotContain('\n', message);
    }

    [Theory]
    [InlineData("akka")]
    [InlineData("akka.io")]
    [InlineData("Akka")]
    public void Transport_akka_is_still_accepted(string value)
    {
        var c = Parse($"version: 1\ntransport: {value}\nservers:\n  a: {{ listen: [\"127.0.0.1:1\"] }}\n");
        Assert.Equal("a", Assert.Single(c.Servers).Name);
    }

    [Fact]
    public void Transport_sockets_is_refused_with_one_line()
    {
        Assert.Equal(
            "l4p.yaml:2:12: transport: 'sockets' is no longer available: Akka.IO is L4P's only transport (remove the key or write transport: akka)",
            Error("version: 1\ntransport: sockets\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n"));
    }

    [Fact]
    public void Max_connections_is_optional()
    {
        Assert.Null(Parse("version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n").MaxConnections);
        Assert.Equal(5000, Parse("version: 1\nmax_connections: 5000\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n").MaxConnections);
    }

    [Theory]
    [InlineData("0", "l4p.yaml:2:18: max_connections: 0 is out of range (1 to 100000000)")]
    [InlineData("-5", "l4p.yaml:2:18: max_connections: -5 is out of range (1 to 100000000)")]
    [InlineData("lots", "l4p.yaml:2:18: max_connections: expected a whole number, got 'lots'")]
    [InlineData("1.5", "l4p.yaml:2:18: max_connections: expected a whole number, got '1.5'")]
    public void Max_connections_must_be_a_positive_whole_number(string value, string expected) =>
        Assert.Equal(expected, Error($"version: 1\nmax_connections: {value}\nservers:\n  a: {{ listen: [\"127.0.0.1:1\"] }}\n"));

    [Theory]
    [InlineData("4KiB", 4096)]
    [InlineData("32 KiB", 32768)]
    [InlineData("1MiB", 1048576)]
    [InlineData("1024", 1024)]
    public void Frame_size_is_per_server_in_bytes_KiB_or_MiB(string value, int bytes)
    {
        var c = Parse($"version: 1\nservers:\n  a: {{ listen: [\"127.0.0.1:1\"], frame_size: {value} }}\n  b: {{ listen: [\"127.0.0.1:2\"] }}\n");
        Assert.Equal(bytes, c.Servers.Single(s => s.Name == "a").FrameSize);
        Assert.Null(c.Servers.Single(s => s.Name == "b").FrameSize);
    }

    [Theory]
    [InlineData("512", "l4p.yaml:3:45: servers.a.frame_size: '512' is out of range (1KiB to 1MiB)")]
    [InlineData("2MiB", "l4p.yaml:3:45: servers.a.frame_size: '2MiB' is out of range (1KiB to 1MiB)")]
    [InlineData("4kb", "l4p.yaml:3:45: servers.a.frame_size: expected a size such as 4KiB, 32KiB or 65536 (bytes), got '4kb'")]
    [InlineData("-4KiB", "l4p.yaml:3:45: servers.a.frame_size: expected a size such as 4KiB, 32KiB or 65536 (bytes), got '-4KiB'")]
    public void Frame_size_out_of_range_or_unreadable_is_one_line(string value, string expected) =>
        Assert.Equal(expected, Error($"version: 1\nservers:\n  a: {{ listen: [\"127.0.0.1:1\"], frame_size: {value} }}\n"));

    [Fact]
    public void Multi_target_upstreams_with_balance_and_check()
    {
        var c = Parse("""
            version: 1
            servers:
              a: { listen: ["127.0.0.1:1"], default: web }
            upstream:
              web:
                targets: ["tcp://10.0.0.1:80", "tcp4://web2.internal:8080"]
                balance: leastconn
                check: { interval: 2s, timeout: 500ms, rise: 1, fall: 2, send: "PING\r\n", expect: "PONG" }
                send_proxy: v1
            """);
        var web = (TcpUpstreamConfig)c.Upstreams["web"];
        Assert.Equal(["tcp://10.0.0.1:80", "tcp4://web2.internal:8080"], web.Targets.Select(t => t.Url));
        Assert.Equal(Balance.LeastConn, web.Balance);
        Assert.Equal(new HealthCheckConfig(TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(500), 1, 2, "PING\r\n", "PONG"), web.Check);
        Assert.Equal(L4P.Protocol.ProxyProtocol.Version.V1, web.SendProxy);
    }

    [Fact]
    public void Outlier_detection_and_cluster_scope_maxclients()
    {
        var c = Parse("""
            version: 1
            cluster: { enabled: true }
            servers:
              a: { listen: ["127.0.0.1:1"], default: web, maxclients: 500, maxclients_scope: cluster }
              b: { listen: ["127.0.0.1:2"], default: bare }
            upstream:
              web: { target: "tcp://h:1", outlier: { failures: 5, eject_for: 1m } }
              bare: { target: "tcp://h:2", outlier: {} }
            """);
        Assert.Equal(new OutlierConfig(5, TimeSpan.FromMinutes(1)), ((TcpUpstreamConfig)c.Upstreams["web"]).Outlier);
        Assert.Equal(OutlierConfig.Defaults, ((TcpUpstreamConfig)c.Upstreams["bare"]).Outlier);
        Assert.Equal(LimitScope.Cluster, c.Servers[0].MaxClientsScope);
        Assert.Equal(LimitScope.Node, c.Servers[1].MaxClientsScope);
    }

    [Fact]
    public void Cluster_section_normalises_seed_nodes()
    {
        var c = Parse("""
            version: 1
            cluster: { hostname: 10.0.0.5, port: 4053, seed_nodes: ["10.0.0.5:4053", "akka.tcp://l4p@10.0.0.6:4053"], roles: [proxy, edge] }
            servers:
              a: { listen: ["127.0.0.1:1"] }
            """);
        Assert.True(c.Cluster.Enabled);
        Assert.Equal(["akka.tcp://l4p@10.0.0.5:4053", "akka.tcp://l4p@10.0.0.6:4053"], c.Cluster.SeedNodes.ToArray());
        Assert.Equal(["proxy", "edge"], c.Cluster.Roles.ToArray());
        Assert.Equal("akka.tcp://l4p@10.0.0.5:4053", c.Cluster.SelfAddress);
        Assert.Equal((TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(2)), (c.Cluster.DownAfter, c.Cluster.RejoinAfter));
        var quick = Parse("version: 1\ncluster: { down_after: 3s, rejoin_after: 500ms }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n").Cluster;
        Assert.Equal((TimeSpan.FromSeconds(3), TimeSpan.FromMilliseconds(500)), (quick.DownAfter, quick.RejoinAfter));
        Assert.False(Parse("version: 1\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n").Cluster.Enabled);
        Assert.False(Parse("version: 1\ncluster: { enabled: false }\nservers:\n  a: { listen: [\"127.0.0.1:1\"] }\n").Cluster.Enabled);
    }

    [Fact]
    public void Sni_names_are_normalised_and_wildcards_kept()
    {
        var c = Parse("version: 1\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    sni: { \"API.Example.COM.\": echo, \"*.Example.org\": ban }\n");
        Assert.Equal(["api.example.com", "*.example.org"], c.Servers[0].Sni.Select(r => r.Pattern));
    }

    [Theory]
    [InlineData("config-yamldotnet-invalidoperation.yaml", "fuzz.yaml: invalid YAML")]
    [InlineData("config-newline-in-message.yaml", "log: unknown log level 'info h7")]
    [InlineData("config-alias-before-anchor-stack-overflow.yaml", "alias *v is used before its anchor is defined")]
    public void Fuzz_findings_are_one_line_config_errors(string fixture, string expected)
    {
        // Found by scripts/fuzz.sh config: YamlDotNet threw InvalidOperationException (a stack trace
        // for bad config), and multi-line values broke the one-line message.
        var yaml = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", fixture));
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.Parse(yaml, "fuzz.yaml", _ => "v"));
        Assert.Contains(expected, e.Message);
        Assert.DoesNotContain('\n', e.Message);
        Assert.DoesNotContain('\r', e.Message);
    }

    [Fact]
    public void Missing_file_is_one_line()
    {
        var e = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile("/nonexistent/l4p.yaml"));
        Assert.StartsWith("/nonexistent/l4p.yaml: cannot read config file", e.Message);
    }

    [Fact]
    public void Example_config_in_the_repo_is_valid_and_enabled()
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "config.yaml.example"))) root = Path.GetDirectoryName(root)!;
        var c = ConfigLoader.LoadFile(Path.Combine(root, "config.yaml.example"), _ => null);
        Assert.Contains(c.Servers, s => s.Default == "health");
        Assert.Contains(c.Servers, s => s.Default == "admin" && s.Allow.IsEmpty);
        Assert.Empty(ConfigAdvice.For(c));
        Assert.Contains(c.Servers, s => s.Default == "echo");
        Assert.Contains(c.Servers, s => c.Upstreams[s.Default] is TcpUpstreamConfig);
        Assert.All(c.Servers.SelectMany(s => s.Listen), ep => Assert.True(IPAddress.IsLoopback(ep.Address)));
    }
}
