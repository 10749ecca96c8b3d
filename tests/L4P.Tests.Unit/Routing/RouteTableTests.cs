using L4P.Config;
using L4P.Routing;
using Xunit;

namespace L4P.Tests.Routing;

public sealed class RouteTableTests
{
    private static readonly ProxyConfig Config = ConfigLoader.Parse("""
        version: 1
        servers:
          s:
            listen: ["127.0.0.1:1"]
            tls: true
            via: { target: "proxy.test:3128" }
            sni:
              api.example.com: echo
              "*.example.com": health
              "*.eu.example.com": ban
              direct.example.com: { upstream: echo, via: {} }
            default: ban
        """, "t.yaml", _ => null);

    private static readonly RouteTable Table = new(Config.Servers[0], Config.Upstreams);

    [Theory]
    [InlineData("api.example.com", "api.example.com")]
    [InlineData("API.Example.Com.", "api.example.com")]
    [InlineData("www.example.com", "*.example.com")]
    [InlineData("a.b.example.com", "*.example.com")]
    [InlineData("x.eu.example.com", "*.eu.example.com")]
    [InlineData("eu.example.com", "*.example.com")]
    [InlineData("example.com", "default")]
    [InlineData("notexample.com", "default")]
    [InlineData(null, "default")]
    [InlineData("", "default")]
    public void Exact_beats_wildcard_and_the_most_specific_wildcard_wins(string? sni, string rule) =>
        Assert.Equal(rule, Table.Match(sni).Rule);

    [Fact]
    public void Via_is_inherited_unless_the_rule_overrides_it()
    {
        Assert.Equal("proxy.test:3128", Table.Match("api.example.com").Via.Target);
        Assert.False(Table.Match("direct.example.com").Via.IsActive);
        Assert.Equal("proxy.test:3128", Table.Default.Via.Target);
    }

    [Fact]
    public void Send_proxy_comes_from_the_rule_else_from_the_upstream()
    {
        var c = ConfigLoader.Parse("""
            version: 1
            servers:
              s:
                listen: ["127.0.0.1:1"]
                tls: true
                sni:
                  v1.test: { upstream: plain, send_proxy: v1 }
                  off.test: { upstream: pp, send_proxy: off }
                  inherit.test: pp
                default: plain
            upstream:
              plain: "tcp://127.0.0.1:2"
              pp: { target: "tcp://127.0.0.1:3", send_proxy: v2 }
            """, "t.yaml", _ => null);
        var t = new RouteTable(c.Servers[0], c.Upstreams);
        Assert.Equal(L4P.Protocol.ProxyProtocol.Version.V1, t.Match("v1.test").SendProxy);
        Assert.Equal(L4P.Protocol.ProxyProtocol.Version.V2, t.Match("inherit.test").SendProxy);
        Assert.Null(t.Match("other.test").SendProxy);
        // "off" on a rule turns off the upstream's v2 for that rule.
        Assert.Null(t.Match("off.test").SendProxy);
    }
}
