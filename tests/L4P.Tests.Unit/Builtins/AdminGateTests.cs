using System.Net;
using System.Text;
using L4P.Builtins;
using L4P.Config;
using L4P.Routing;
using Xunit;

namespace L4P.Tests.Builtins;

/// <summary>Who the admin built-in answers (source, token), what health and admin answer, and allow/deny for every server.</summary>
public sealed class AdminGateTests
{
    private static ServerConfig Server(string[]? allow = null, string[]? deny = null, string? token = null) =>
        new ServerConfig("s", [new IPEndPoint(IPAddress.Loopback, 1)], false, [], "admin", 100, ViaConfig.None, ServerTimeouts.Defaults)
        {
            Allow = [.. (allow ?? []).Select(IPNetwork.Parse)],
            Deny = [.. (deny ?? []).Select(IPNetwork.Parse)],
            AdminToken = token is null ? null : new BearerToken(token),
        };

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.255.0.9", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.1", false)]
    [InlineData("::ffff:10.0.0.1", false)]
    [InlineData("2001:db8::1", false)]
    [InlineData("0.0.0.0", false)]
    public void Without_allow_admin_answers_loopback_only(string client, bool served)
    {
        Assert.Equal(served, ClientAccess.Refusal(Server(), IPAddress.Parse(client), loopbackByDefault: true) is null);
        Assert.Equal(served ? null : AdminRefusal.ForbiddenSource, AdminGate.For(Server(), IPAddress.Parse(client)).Check(null));
        // Other built-ins and upstreams: no allow means anyone.
        Assert.Null(ClientAccess.Refusal(Server(), IPAddress.Parse(client)));
    }

    [Fact]
    public void Allow_replaces_the_loopback_default_and_deny_wins_over_it()
    {
        var s = Server(allow: ["10.0.0.0/8", "2001:db8::/32"], deny: ["10.9.0.0/16"]);
        Assert.Null(ClientAccess.Refusal(s, IPAddress.Parse("10.1.2.3"), loopbackByDefault: true));
        Assert.Null(ClientAccess.Refusal(s, IPAddress.Parse("::ffff:10.1.2.3"), loopbackByDefault: true));
        Assert.Null(ClientAccess.Refusal(s, IPAddress.Parse("2001:db8::5"), loopbackByDefault: true));
        Assert.Equal("deny: 10.9.1.1 is in 10.9.0.0/16", ClientAccess.Refusal(s, IPAddress.Parse("10.9.1.1"), loopbackByDefault: true));
        // An allow list that leaves out loopback means loopback is out too.
        Assert.Equal("allow: 127.0.0.1 is in none of 10.0.0.0/8, 2001:db8::/32", ClientAccess.Refusal(s, IPAddress.Loopback, loopbackByDefault: true));
        Assert.NotNull(ClientAccess.Refusal(s, IPAddress.Parse("192.0.2.1")));
    }

    [Fact]
    public void Deny_alone_refuses_only_what_it_names_on_other_servers()
    {
        var s = Server(deny: ["192.0.2.0/24"]);
        Assert.Null(ClientAccess.Refusal(s, IPAddress.Parse("198.51.100.1")));
        Assert.Equal("deny: 192.0.2.9 is in 192.0.2.0/24", ClientAccess.Refusal(s, IPAddress.Parse("192.0.2.9")));
        Assert.NotNull(ClientAccess.Refusal(s, null));
        Assert.Null(ClientAccess.Refusal(Server(), null));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData("", false)]
    [InlineData("Bearer", false)]
    [InlineData("Bearer wrong", false)]
    [InlineData("Bearer tok", false)]
    [InlineData("Bearer token!x", false)]
    [InlineData("Basic token!", false)]
    [InlineData("Bearer token!", true)]
    [InlineData("bearer   token!", true)]
    public void The_token_must_be_presented_as_a_bearer_token(string? authorization, bool accepted)
    {
        var gate = AdminGate.For(Server(token: "token!"), IPAddress.Loopback);
        Assert.Equal(accepted ? null : AdminRefusal.BadToken, gate.Check(authorization));
    }

    [Fact]
    public void A_forbidden_source_is_refused_before_the_token_is_looked_at()
    {
        Assert.Equal(AdminRefusal.ForbiddenSource, AdminGate.For(Server(token: "t"), IPAddress.Parse("10.0.0.1")).Check("Bearer t"));
    }

    private static HealthResponder.Outcome Ask(string request, AdminGate? admin = null) =>
        HealthResponder.Next(Encoding.ASCII.GetBytes(request), admin);

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/status")]
    [InlineData("/status/")]
    [InlineData("/status.json")]
    [InlineData("/cluster")]
    [InlineData("/nope")]
    public void Health_serves_health_alone(string path)
    {
        var outcome = Ask($"GET {path} HTTP/1.1\r\n\r\n");
        Assert.Equal(HealthResponder.Render.None, outcome.Render);
        Assert.StartsWith("HTTP/1.1 404 Not Found\r\n", Encoding.ASCII.GetString(outcome.Response));
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", Encoding.ASCII.GetString(Ask("GET /health HTTP/1.1\r\n\r\n").Response));
    }

    [Theory]
    [InlineData("/metrics", HealthResponder.Render.Metrics)]
    [InlineData("/status", HealthResponder.Render.StatusPage)]
    [InlineData("/status.json", HealthResponder.Render.StatusJson)]
    [InlineData("/cluster", HealthResponder.Render.Cluster)]
    public void Admin_serves_the_pages_to_whom_it_lets_in(string path, HealthResponder.Render render)
    {
        var open = AdminGate.For(Server(), IPAddress.Loopback);
        Assert.Equal(render, Ask($"GET {path} HTTP/1.1\r\n\r\n", open).Render);
        var shut = AdminGate.For(Server(), IPAddress.Parse("10.0.0.1"));
        var refused = Ask($"GET {path} HTTP/1.1\r\n\r\n", shut);
        Assert.Equal(AdminRefusal.ForbiddenSource, refused.Refused);
        Assert.Equal(HealthResponder.Render.None, refused.Render);
        Assert.True(refused.Close);
    }

    [Fact]
    public void Every_refusal_is_the_same_bare_403_whatever_the_reason_path_or_method()
    {
        var bySource = Ask("GET /metrics HTTP/1.1\r\n\r\n", AdminGate.For(Server(), IPAddress.Parse("10.0.0.1")));
        var byToken = Ask("POST /nope HTTP/1.1\r\nAuthorization: Bearer bad\r\n\r\n", AdminGate.For(Server(token: "good"), IPAddress.Loopback));
        Assert.Equal(AdminRefusal.BadToken, byToken.Refused);
        Assert.Equal(bySource.Response, byToken.Response);
        Assert.Equal("HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 10\r\nConnection: close\r\n\r\nforbidden\n",
            Encoding.ASCII.GetString(bySource.Response));
    }

    [Fact]
    public void Admin_with_the_right_token_answers_and_two_authorization_headers_are_a_bad_request()
    {
        var gate = AdminGate.For(Server(token: "good"), IPAddress.Loopback);
        Assert.Equal(HealthResponder.Render.Metrics, Ask("GET /metrics HTTP/1.1\r\nAuthorization: Bearer good\r\n\r\n", gate).Render);
        Assert.StartsWith("HTTP/1.1 200 OK\r\n", Encoding.ASCII.GetString(Ask("GET /health HTTP/1.1\r\nAuthorization: Bearer good\r\n\r\n", gate).Response));
        var twice = Ask("GET /metrics HTTP/1.1\r\nAuthorization: Bearer good\r\nAuthorization: Bearer bad\r\n\r\n", gate);
        Assert.StartsWith("HTTP/1.1 400 Bad Request\r\n", Encoding.ASCII.GetString(twice.Response));
    }

    [Fact]
    public void The_labels_are_stable()
    {
        Assert.Equal(["forbidden_source", "bad_token"], Enum.GetValues<AdminRefusal>().Select(r => r.Label()).ToArray());
        Assert.Equal([IPNetwork.Parse("127.0.0.0/8"), IPNetwork.Parse("::1/128")], ClientAccess.Loopback.ToArray());
    }
}
