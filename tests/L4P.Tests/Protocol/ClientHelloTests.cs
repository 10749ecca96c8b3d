using System.Security.Authentication;
using CsCheck;
using L4P.Protocol;
using L4P.Testing;
using L4P.Tests.Support;
using Xunit;

namespace L4P.Tests.Protocol;

public sealed class ClientHelloTests
{
    private static ClientHello.Result Parse(byte[] b) => ClientHello.Parse(b);

    private static void AssertIncrementalThenFound(byte[] hello, string expected)
    {
        // Every prefix (a hello split at any point, down to one byte at a time) needs more.
        for (var i = 0; i < hello.Length; i++)
            Assert.Equal(ClientHello.Status.NeedMore, ClientHello.Parse(hello.AsSpan(0, i)).Status);
        var r = Parse(hello);
        Assert.Equal(ClientHello.Status.Found, r.Status);
        Assert.Equal(expected, r.ServerName);
    }

    [Theory]
    [InlineData("a.test")]
    [InlineData("b.test")]
    [InlineData("Deep.Sub.Example.ORG")]
    public async Task SslStream_hellos_yield_their_target_host(string host)
    {
        var hello = await HelloCapture.FromSslStreamAsync(host);
        AssertIncrementalThenFound(hello, host.ToLowerInvariant());
    }

    [Fact]
    public async Task SslStream_tls12_only_hello_is_read()
    {
        var hello = await HelloCapture.FromSslStreamAsync("tls12.test", SslProtocols.Tls12);
        AssertIncrementalThenFound(hello, "tls12.test");
    }

    [Theory]
    [InlineData("-servername x.test -tls1_3", "x.test")]
    [InlineData("-servername y.test -tls1_2", "y.test")]
    [InlineData("-servername old.test -tls1 -cipher DEFAULT@SECLEVEL=0", "old.test")]
    public async Task Openssl_s_client_hellos_are_read(string args, string expected)
    {
        var hello = await HelloCapture.FromOpensslAsync(args);
        AssertIncrementalThenFound(hello, expected);
    }

    [Fact]
    public async Task Openssl_without_servername_on_an_ip_has_no_sni()
    {
        var hello = await HelloCapture.FromOpensslAsync("-noservername");
        Assert.Equal(ClientHello.Status.NoSni, Parse(hello).Status);
    }

    [Fact]
    public void Hand_built_edge_cases()
    {
        Assert.Equal(ClientHello.Status.NoSni, Parse(HelloBuilder.Hello(null)).Status);
        Assert.Equal(ClientHello.Status.NoSni, Parse(HelloBuilder.Records(HelloBuilder.Handshake([], withExtensionsBlock: false))).Status);
        Assert.Equal(ClientHello.Status.NoSni, Parse(HelloBuilder.Records(HelloBuilder.Handshake([HelloBuilder.Sni([])]))).Status);
        // Several names: the first host_name wins; unknown name types are skipped.
        Assert.Equal("second.test", Parse(HelloBuilder.Records(HelloBuilder.Handshake([HelloBuilder.Sni((7, "weird"), (0, "second.test"), (0, "third.test"))]))).ServerName);
        // Extensions in any order, GREASE (0x?a?a) and unknown ones around it, trailing dot dropped.
        var grease = HelloBuilder.Extension(0x1a1a, []);
        var alpn = HelloBuilder.Extension(16, [0, 3, 2, (byte)'h', (byte)'2']);
        Assert.Equal("mid.test", Parse(HelloBuilder.Hello("mid.test.", 16384, grease, alpn)).ServerName);
        Assert.Equal("first.test", Parse(HelloBuilder.Records(HelloBuilder.Handshake([HelloBuilder.Sni("first.test"), grease, alpn]))).ServerName);
        // TLS 1.0 record version and client version.
        Assert.Equal("v10.test", Parse(HelloBuilder.Records(HelloBuilder.Handshake([HelloBuilder.Sni("v10.test")], version: 0x0301), recordVersion: 0x0301)).ServerName);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(5)]
    [InlineData(100)]
    public void Handshake_fragmented_over_records(int fragment)
    {
        var hello = HelloBuilder.Hello("frag.test", fragment, HelloBuilder.Extension(21, new byte[300]));
        AssertIncrementalThenFound(hello, "frag.test");
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("SSH-2.0-OpenSSH_9.2\r\n")]
    [InlineData("\u0080\u002e\u0001\u0003\u0001")] // SSLv2-compatible hello
    public void Other_protocols_are_not_tls(string text) =>
        Assert.Equal(ClientHello.Status.NotTls, Parse(System.Text.Encoding.Latin1.GetBytes(text)).Status);

    [Fact]
    public void Hostile_lengths_are_malformed_not_exceptions()
    {
        var good = HelloBuilder.Hello("x.test");
        // Record length 0, handshake type not ClientHello, inner lengths beyond the data.
        Assert.Equal(ClientHello.Status.Malformed, Parse([0x16, 3, 1, 0, 0]).Status);
        var notHello = (byte[])good.Clone();
        notHello[5] = 2;
        Assert.Equal(ClientHello.Status.Malformed, Parse(notHello).Status);
        var badSession = (byte[])good.Clone();
        badSession[5 + 4 + 34] = 200;
        Assert.Equal(ClientHello.Status.Malformed, Parse(badSession).Status);
        // A handshake length over 16 KiB is refused up front.
        Assert.Equal(ClientHello.Status.TooLarge, Parse([0x16, 3, 1, 0x40, 0x00, 1, 0x01, 0x00, 0x00]).Status);
        // A server name with a NUL in it.
        Assert.Equal(ClientHello.Status.Malformed, Parse(HelloBuilder.Hello("bad\0name")).Status);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.1", true)]        // what inet_aton (and so a proxy's resolver) reads as 127.0.0.1
    [InlineData("0x7f.1", true)]
    [InlineData("10.0.0.1.", true)]
    [InlineData("::1", true)]
    [InlineData("2001:db8::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("example.com", false)]
    [InlineData("1.example", false)]
    [InlineData("10-0-0-1.nip.io", false)]
    public void Ip_literals_are_recognised(string name, bool literal) => Assert.Equal(literal, ClientHello.IsIpLiteral(name));

    [Theory]
    [InlineData("::1")]
    [InlineData("2001:DB8::1", "2001:db8::1")]
    [InlineData("127.0.0.1")]
    public void An_ip_literal_sni_is_read_as_sent(string name, string? expected = null)
    {
        // Forbidden by RFC 6066 but sent by some clients: read, so the connection can be routed as no SNI.
        var r = Parse(HelloBuilder.Hello(name));
        Assert.Equal((ClientHello.Status.Found, expected ?? name), (r.Status, r.ServerName));
    }

    [Theory]
    [InlineData("a:b")]
    [InlineData("host.test:443")]
    [InlineData(":::")]
    public void A_colon_outside_an_ipv6_literal_is_malformed(string name) =>
        Assert.Equal(ClientHello.Status.Malformed, Parse(HelloBuilder.Hello(name)).Status);

    [Theory]
    [InlineData("....")]
    [InlineData(".")]
    [InlineData("a..b")]
    [InlineData(".a")]
    public void Names_with_empty_labels_are_malformed(string name) =>
        Assert.Equal(ClientHello.Status.Malformed, Parse(HelloBuilder.Hello(name)).Status);

    [Fact]
    public void Fuzz_finding_a_name_of_dots_is_not_found_with_an_empty_name()
    {
        // scripts/fuzz.sh clienthello: a server_name of 16 dots came out as Found with "".
        var input = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "Fixtures", "fuzz", "clienthello-sni-only-dots.bin"));
        var r = ClientHello.Parse(input);
        Assert.False(r.Status == ClientHello.Status.Found && string.IsNullOrEmpty(r.ServerName));
    }

    [Fact]
    public void Property_random_fragmentation_gives_the_same_answer()
    {
        Gen.Select(Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789-"], 1, 60], Gen.Int[1, 600], Gen.Int[0, 2000])
            .Sample((name, fragment, padding) =>
            {
                var hello = HelloBuilder.Hello(name + ".test", fragment, HelloBuilder.Extension(21, new byte[padding]));
                var r = Parse(hello);
                return r.Status == ClientHello.Status.Found && r.ServerName == name + ".test"
                       && ClientHello.Parse(hello.AsSpan(0, hello.Length - 1)).Status == ClientHello.Status.NeedMore;
            }, iter: 2000);
    }

    [Fact]
    public void Property_mutated_hellos_never_throw()
    {
        var seeds = new[] { HelloBuilder.Hello("seed.test"), HelloBuilder.Hello("frag.test", 7), HelloBuilder.Hello(null) };
        Gen.Select(Gen.Int[0, seeds.Length - 1], Gen.Select(Gen.Int[0, 10_000], Gen.Byte).Array[1, 12], Gen.Int[0, 400])
            .Sample((seed, mutations, cut) =>
            {
                var bytes = (byte[])seeds[seed].Clone();
                foreach (var (at, value) in mutations) bytes[at % bytes.Length] = value;
                var data = bytes.AsSpan(0, Math.Max(0, bytes.Length - cut % (bytes.Length + 1)));
                var r = ClientHello.Parse(data);
                return Enum.IsDefined(r.Status) && (r.Status != ClientHello.Status.Found || r.ServerName!.Length > 0);
            }, iter: 20_000);
    }

    [Fact]
    public void Property_random_bytes_never_throw() =>
        Gen.Byte.Array[0, 3000].Sample(b => Enum.IsDefined(ClientHello.Parse(b).Status), iter: 20_000);
}
