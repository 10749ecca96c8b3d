using System.Net;
using L4P.Config;
using Xunit;

namespace L4P.Tests.Config;

/// <summary>The admin built-in's server keys (allow, deny, admin_token), their errors, and the "pages moved" advice.</summary>
public sealed class AdminConfigTests
{
    private static readonly Dictionary<string, string> Env = new()
    {
        ["L4P_ADMIN_TOKEN"] = "s3cr3t-Token_1",
        ["EMPTY"] = "",
    };

    private static ProxyConfig Parse(string yaml) => ConfigLoader.Parse(yaml, "l4p.yaml", n => Env.GetValueOrDefault(n));

    private static string Error(string yaml) => Assert.Throws<ConfigException>(() => Parse(yaml)).Message;

    [Fact]
    public void Admin_is_a_built_in_upstream_and_cannot_be_redefined()
    {
        var c = Parse("version: 2\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: admin }\n");
        Assert.Equal(BuiltinKind.Admin, Assert.IsType<BuiltinUpstreamConfig>(c.Upstreams["admin"]).Kind);
        Assert.Equal("l4p.yaml:3:3: upstream.admin: 'admin' is a built-in upstream and cannot be redefined",
            Error("version: 2\nupstream:\n  admin: \"tcp://127.0.0.1:9\"\nservers: {}\n"));
    }

    [Fact]
    public void Allow_deny_and_the_token_are_read()
    {
        var c = Parse("""
            version: 2
            servers:
              a:
                listen: ["127.0.0.1:1"]
                default: admin
                allow: [10.0.0.0/8, "2001:db8::/32", 192.0.2.7]
                deny: [10.9.0.0/16]
                admin_token: ${L4P_ADMIN_TOKEN}
            """);
        var a = c.Servers.Single();
        Assert.Equal([IPNetwork.Parse("10.0.0.0/8"), IPNetwork.Parse("2001:db8::/32"), IPNetwork.Parse("192.0.2.7/32")], a.Allow.ToArray());
        Assert.Equal([IPNetwork.Parse("10.9.0.0/16")], a.Deny.ToArray());
        Assert.NotNull(a.AdminToken);
        Assert.True(a.AdminToken.Accepts("Bearer s3cr3t-Token_1"));
        // The secret is in no printout of the config.
        Assert.DoesNotContain("s3cr3t", a.ToString());
        Assert.DoesNotContain("s3cr3t", c.ToString());
    }

    [Fact]
    public void Without_the_keys_nothing_is_restricted_and_no_token_is_required()
    {
        var a = Parse("version: 2\nservers:\n  a: { listen: [\"127.0.0.1:1\"], default: admin }\n").Servers.Single();
        Assert.Empty(a.Allow);
        Assert.Empty(a.Deny);
        Assert.Null(a.AdminToken);
    }

    public static TheoryData<string, string> Errors => new()
    {
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: admin\n    allow: [10.0.0.0/8, nonsense]\n",
            "l4p.yaml:6:25: servers.a.allow[1]: 'nonsense' is not an address or CIDR block" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    deny: [\"10.0.0.0/33\"]\n",
            "l4p.yaml:5:12: servers.a.deny[0]: '10.0.0.0/33' is not an address or CIDR block" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: admin\n    admin_token: ${EMPTY}\n",
            "l4p.yaml:6:18: servers.a.admin_token: is empty" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: admin\n    admin_token: \"two words\"\n",
            "l4p.yaml:6:18: servers.a.admin_token: may hold visible ASCII only" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: admin\n    admin_token: ${NOPE}\n",
            "l4p.yaml:6:18: servers.a.admin_token: environment variable 'NOPE' is not set" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: health\n    admin_token: abc\n",
            "l4p.yaml:6:18: servers.a.admin_token: has no effect: no route of this server goes to the built-in admin" },
        { "version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    accept_proxy: true\n    tls: true\n    sni: { admin.test: admin }\n",
            "l4p.yaml:5:19: servers.a.accept_proxy: a server that routes to the built-in admin needs accept_proxy_from too" },
    };

    [Theory]
    [MemberData(nameof(Errors))]
    public void Each_problem_is_one_line_naming_file_and_key_path(string yaml, string expected)
    {
        var message = Error(yaml);
        Assert.True(message.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in '{message}'");
        Assert.DoesNotContain('\n', message);
    }

    [Fact]
    public void A_bad_token_is_refused_without_echoing_it()
    {
        var message = Error("version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    default: admin\n    admin_token: \"hunter2 with spaces\"\n");
        Assert.DoesNotContain("hunter2", message);
    }

    [Fact]
    public void A_token_is_accepted_on_a_server_whose_sni_rule_goes_to_admin()
    {
        var a = Parse("version: 2\nservers:\n  a:\n    listen: [\"127.0.0.1:1\"]\n    tls: true\n    sni: { admin.test: admin }\n    admin_token: abc\n").Servers.Single();
        Assert.True(a.RoutesTo(BuiltinKind.Admin));
        Assert.False(a.RoutesTo(BuiltinKind.Health));
    }

    [Fact]
    public void Health_servers_without_an_admin_server_get_one_line_saying_what_moved()
    {
        var c = Parse("""
            version: 2
            servers:
              health: { listen: ["127.0.0.1:1"], default: health }
              lb: { listen: ["127.0.0.1:2"], tls: true, sni: { h.test: health } }
              web: { listen: ["127.0.0.1:3"], default: echo }
            """);
        var advice = Assert.Single(ConfigAdvice.For(c));
        Assert.StartsWith("servers.health, servers.lb: the built-in health now answers /health only; /status, /status.json, /metrics and /cluster moved to the built-in admin", advice);
        Assert.Contains("loopback only by default", advice);
    }

    [Theory]
    [InlineData("health: { listen: [\"127.0.0.1:1\"], default: health }\n  admin: { listen: [\"127.0.0.1:2\"], default: admin }")]
    [InlineData("web: { listen: [\"127.0.0.1:1\"], default: echo }")]
    public void No_advice_when_an_admin_server_exists_or_no_health_server(string servers)
    {
        Assert.Empty(ConfigAdvice.For(Parse($"version: 2\nservers:\n  {servers}\n")));
    }
}
