using System.Text;
using CsCheck;
using L4P.Protocol;
using Xunit;

namespace L4P.Tests.Protocol;

public sealed class ConnectReplyTests
{
    private static ConnectReply.Result Parse(string s) => ConnectReply.Parse(Encoding.Latin1.GetBytes(s));

    [Theory]
    [InlineData("HTTP/1.1 200 Connection established\r\n\r\n", 200, "HTTP/1.1 200 Connection established")]
    [InlineData("HTTP/1.0 200\r\n\r\n", 200, "HTTP/1.0 200")]
    [InlineData("HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic\r\n\r\n", 407, "HTTP/1.1 407 Proxy Authentication Required")]
    [InlineData("HTTP/1.1 403 Access violation\r\nServer: tinyproxy\r\n\r\n<html>", 403, "HTTP/1.1 403 Access violation")]
    [InlineData("HTTP/1.1 200 OK\n\n", 200, "HTTP/1.1 200 OK")]
    public void Status_line_and_header_length(string reply, int code, string statusLine)
    {
        var r = Parse(reply);
        Assert.Equal(ConnectReply.Status.Complete, r.Status);
        Assert.Equal(code, r.Code);
        Assert.Equal(statusLine, r.StatusLine);
        var head = reply.Contains("\r\n\r\n") ? reply.IndexOf("\r\n\r\n") + 4 : reply.IndexOf("\n\n") + 2;
        Assert.Equal(head, r.HeaderLength);
    }

    [Fact]
    public void Every_prefix_needs_more_and_tunnel_bytes_are_not_headers()
    {
        var reply = "HTTP/1.1 200 Connection established\r\nProxy-Agent: x\r\n\r\n";
        for (var i = 0; i < reply.Length; i++)
            Assert.Equal(ConnectReply.Status.NeedMore, Parse(reply[..i]).Status);
        var r = Parse(reply + "\u0016\u0003\u0003tunnel");
        Assert.True(r.IsSuccess);
        Assert.Equal(reply.Length, r.HeaderLength);
    }

    [Theory]
    [InlineData("SSH-2.0-x\r\n\r\n", "not an HTTP reply")]
    [InlineData("garbage", "not an HTTP reply")]
    [InlineData("HTTP/2 200\r\n\r\n", "bad status line")]
    [InlineData("HTTP/1.1 2000 x\r\n\r\n", "bad status line")]
    [InlineData("HTTP/1.1 abc\r\n\r\n", "bad status line")]
    public void Garbage_is_malformed(string reply, string problem)
    {
        var r = Parse(reply);
        Assert.Equal(ConnectReply.Status.Malformed, r.Status);
        Assert.StartsWith(problem, r.Problem);
    }

    [Fact]
    public void Large_header_blocks_are_read_and_oversized_ones_refused()
    {
        var big = "HTTP/1.1 200 OK\r\n" + string.Concat(Enumerable.Range(0, 200).Select(i => $"X-Filler-{i}: {new string('x', 40)}\r\n")) + "\r\n";
        Assert.True(big.Length > 8192);
        Assert.True(Parse(big).IsSuccess);
        var huge = "HTTP/1.1 200 OK\r\n" + new string('x', ConnectReply.MaxHeaderBytes);
        Assert.Equal(ConnectReply.Status.TooLarge, Parse(huge).Status);
    }

    [Fact]
    public void Property_random_bytes_never_throw() =>
        Gen.Byte.Array[0, 2000].Sample(b => Enum.IsDefined(ConnectReply.Parse(b).Status), iter: 20_000);

    [Fact]
    public void Property_random_http_like_replies_never_throw() =>
        Gen.String[Gen.Char["HTP/1.0 23456789\r\n:abc"], 0, 300]
            .Sample(s => Enum.IsDefined(Parse(s).Status), iter: 20_000);

    [Fact]
    public void Request_has_host_and_headers_once()
    {
        var req = new ConnectRequest([new("Proxy-Authorization", "Basic abc"), new("X-Trace", "1")]);
        Assert.Equal("CONNECT a.test:443 HTTP/1.1\r\nHost: a.test:443\r\nProxy-Authorization: Basic abc\r\nX-Trace: 1\r\n\r\n",
            Encoding.ASCII.GetString(req.For("a.test:443")));
        var withHost = new ConnectRequest([new("host", "custom")]);
        Assert.Equal("CONNECT b:1 HTTP/1.1\r\nhost: custom\r\n\r\n", Encoding.ASCII.GetString(withHost.For("b:1")));
    }
}
