using System.Net;
using System.Text;
using CsCheck;
using L4P.Protocol;
using Xunit;

namespace L4P.Tests.Protocol;

public sealed class ProxyProtocolTests
{
    private static readonly IPEndPoint Src4 = IPEndPoint.Parse("192.168.0.1:56324");
    private static readonly IPEndPoint Dst4 = IPEndPoint.Parse("192.168.0.11:443");

    [Fact]
    public void V1_is_the_spec_example_byte_for_byte()
    {
        Assert.Equal("PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n",
            Encoding.ASCII.GetString(ProxyProtocol.Header(ProxyProtocol.Version.V1, Src4, Dst4)));
        Assert.Equal("PROXY TCP6 2001:db8::1 2001:db8::2 1234 443\r\n",
            Encoding.ASCII.GetString(ProxyProtocol.Header(ProxyProtocol.Version.V1, IPEndPoint.Parse("[2001:db8::1]:1234"), IPEndPoint.Parse("[2001:db8::2]:443"))));
        // IPv4-mapped addresses (a dual-stack socket) are written as IPv4.
        Assert.Equal("PROXY TCP4 10.0.0.1 10.0.0.2 1 2\r\n",
            Encoding.ASCII.GetString(ProxyProtocol.Header(ProxyProtocol.Version.V1, IPEndPoint.Parse("[::ffff:10.0.0.1]:1"), IPEndPoint.Parse("10.0.0.2:2"))));
        Assert.Equal("PROXY UNKNOWN\r\n",
            Encoding.ASCII.GetString(ProxyProtocol.Header(ProxyProtocol.Version.V1, Src4, IPEndPoint.Parse("[::1]:443"))));
    }

    [Fact]
    public void V2_layout_is_signature_version_family_length_addresses_ports()
    {
        byte[] expected =
        [
            0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, // signature
            0x21,       // version 2, PROXY
            0x11,       // TCP over IPv4
            0x00, 0x0C, // 12 bytes of addresses
            192, 168, 0, 1, 192, 168, 0, 11,
            0xDC, 0x04, // 56324
            0x01, 0xBB, // 443
        ];
        Assert.Equal(expected, ProxyProtocol.Header(ProxyProtocol.Version.V2, Src4, Dst4));
        var v6 = ProxyProtocol.Header(ProxyProtocol.Version.V2, IPEndPoint.Parse("[2001:db8::1]:1"), IPEndPoint.Parse("[2001:db8::2]:2"));
        Assert.Equal(16 + 36, v6.Length);
        Assert.Equal(0x21, v6[13]);
        Assert.Equal([.. ProxyProtocol.V2Signature, 0x20, 0x00, 0x00, 0x00],
            ProxyProtocol.Header(ProxyProtocol.Version.V2, Src4, IPEndPoint.Parse("[::1]:2"))); // LOCAL
    }

    [Theory]
    [InlineData(ProxyProtocol.Version.V1)]
    [InlineData(ProxyProtocol.Version.V2)]
    public void What_is_written_reads_back_incrementally_with_payload_after_it(ProxyProtocol.Version version)
    {
        foreach (var (src, dst) in new[] { (Src4, Dst4), (IPEndPoint.Parse("[2001:db8::1]:65535"), IPEndPoint.Parse("[::1]:0")) })
        {
            var header = ProxyProtocol.Header(version, src, dst);
            for (var i = 0; i < header.Length; i++)
                Assert.Equal(ProxyProtocol.Status.NeedMore, ProxyProtocol.Parse(header.AsSpan(0, i)).Status);
            var r = ProxyProtocol.Parse([.. header, .. "payload"u8]);
            Assert.Equal(ProxyProtocol.Status.Complete, r.Status);
            Assert.Equal(header.Length, r.Length);
            Assert.Equal(src, r.Source);
            Assert.Equal(dst, r.Destination);
        }
    }

    [Theory]
    [InlineData("PROXY UNKNOWN\r\n")]
    [InlineData("PROXY UNKNOWN 1.2.3.4 5.6.7.8 1 2\r\n")]
    public void V1_unknown_has_no_source(string header)
    {
        var r = ProxyProtocol.Parse(Encoding.ASCII.GetBytes(header));
        Assert.Equal((ProxyProtocol.Status.Complete, header.Length, (IPEndPoint?)null), (r.Status, r.Length, r.Source));
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 ::1 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 1 99999\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4 5.6.7.8 01 2\r\n")]
    [InlineData("PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n")]
    [InlineData("\u0016\u0003\u0001")]
    public void Garbage_is_refused(string data) =>
        Assert.Equal(ProxyProtocol.Status.Malformed, ProxyProtocol.Parse(Encoding.Latin1.GetBytes(data)).Status);

    [Theory]
    [InlineData("PROXY TCP4 127.1 127.0.0.1 1 2\r\n")]          // IPAddress.TryParse takes these; the spec does not
    [InlineData("PROXY TCP4 127.0.0.1 127.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 2130706433 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 0x7f.0.0.1 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 010.0.0.1 127.0.0.1 1 2\r\n")]      // leading zero (octal to some readers)
    [InlineData("PROXY TCP4 256.0.0.1 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4. 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 1.2.3.4.5 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 1..3.4 127.0.0.1 1 2\r\n")]
    [InlineData("PROXY TCP4 \u0661.2.3.4 127.0.0.1 1 2\r\n")]   // a non-ASCII digit
    [InlineData("PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n")]          // zone
    [InlineData("PROXY TCP6 [::1] ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 1:2:3:4:5:6:7 ::1 1 2\r\n")]          // 112 bits
    [InlineData("PROXY TCP6 1:2:3:4:5:6:7:8:9 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 1:2:3:4:5:6:7:8:: ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 1::2::3 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 ::: ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 12345::1 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 :1::2 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 ::ffff:127.1 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 1.2.3.4::1 ::1 1 2\r\n")]
    [InlineData("PROXY TCP6 1.2.3.4 ::1 1 2\r\n")]              // family mismatch
    public void V1_addresses_outside_the_spec_are_refused(string header)
    {
        var r = ProxyProtocol.Parse(Encoding.UTF8.GetBytes(header));
        Assert.Equal(ProxyProtocol.Status.Malformed, r.Status);
        Assert.StartsWith("bad address or port in v1 header: PROXY TCP", r.Problem);
    }

    [Theory]
    [InlineData("TCP4 0.0.0.0 255.255.255.255", "0.0.0.0", "255.255.255.255")]
    [InlineData("TCP4 10.0.0.1 192.168.100.200", "10.0.0.1", "192.168.100.200")]
    [InlineData("TCP6 2001:db8::1 ::1", "2001:db8::1", "::1")]
    [InlineData("TCP6 :: 1::", "::", "1::")]
    [InlineData("TCP6 2001:0DB8:0000:0000:0000:0000:0000:0001 fe80::abcd:1", "2001:db8::1", "fe80::abcd:1")]
    [InlineData("TCP6 1:2:3:4:5:6:7:8 1:2:3:4:5:6::8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:0:8")]
    [InlineData("TCP6 ::ffff:10.0.0.1 64:ff9b::192.0.2.33", "::ffff:10.0.0.1", "64:ff9b::c000:221")] // as inet_ntop writes them
    public void V1_addresses_as_the_spec_writes_them_are_read(string middle, string src, string dst)
    {
        var r = ProxyProtocol.Parse(Encoding.ASCII.GetBytes($"PROXY {middle} 1 2\r\n"));
        Assert.Equal(ProxyProtocol.Status.Complete, r.Status);
        Assert.Equal((IPAddress.Parse(src), IPAddress.Parse(dst)), (r.Source!.Address, r.Destination!.Address));
    }

    [Fact]
    public void Property_every_address_as_written_by_dotnet_reads_back()
    {
        Gen.Byte.Array[4].Sample(b =>
        {
            var ip = new IPAddress(b);
            return ProxyProtocol.TryParseV1Address(ip.ToString(), System.Net.Sockets.AddressFamily.InterNetwork, out var back) && back.Equals(ip);
        }, iter: 5_000);
        // Zero runs make "::" compressions likely.
        Gen.OneOf(Gen.Byte, Gen.Const((byte)0)).Array[16].Sample(b =>
        {
            var ip = new IPAddress(b);
            return ProxyProtocol.TryParseV1Address(ip.ToString(), System.Net.Sockets.AddressFamily.InterNetworkV6, out var back) && back.Equals(ip);
        }, iter: 5_000);
    }

    [Fact]
    public void Overlong_v1_and_v2_are_refused()
    {
        Assert.Equal(ProxyProtocol.Status.Malformed, ProxyProtocol.Parse(Encoding.ASCII.GetBytes("PROXY TCP4 " + new string('1', 120))).Status);
        byte[] big = [.. ProxyProtocol.V2Signature, 0x21, 0x11, 0xFF, 0xFF];
        Assert.Equal(ProxyProtocol.Status.Malformed, ProxyProtocol.Parse(big).Status);
        byte[] badVersion = [.. ProxyProtocol.V2Signature, 0x31, 0x11, 0x00, 0x0C];
        Assert.Equal(ProxyProtocol.Status.Malformed, ProxyProtocol.Parse(badVersion).Status);
    }

    [Fact]
    public void Property_random_bytes_never_throw()
    {
        Gen.Byte.Array[0, 300].Sample(b => Enum.IsDefined(ProxyProtocol.Parse(b).Status), iter: 20_000);
        Gen.Byte.Array[0, 64].Sample(b => Enum.IsDefined(ProxyProtocol.Parse([.. ProxyProtocol.V2Signature, .. b]).Status), iter: 20_000);
    }
}
