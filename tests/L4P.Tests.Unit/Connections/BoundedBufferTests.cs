using System.Net;
using System.Text;
using Akka.IO;
using L4P.Connections;
using L4P.Protocol;
using Xunit;

namespace L4P.Tests.Connections;

/// <summary>The accumulator of the framed parsers: bounded, no byte lost or reordered wherever segments split.</summary>
public sealed class BoundedBufferTests
{
    private static ByteString Bytes(string s) => ByteString.FromBytes(Encoding.ASCII.GetBytes(s));

    private static string Text(ReadOnlySpan<byte> b) => Encoding.ASCII.GetString(b);

    [Fact]
    public void Segments_accumulate_in_order()
    {
        var b = new BoundedBuffer(64);
        Assert.True(b.IsEmpty);
        Assert.Equal("", Text(b.Span));
        b.Append(Bytes("abc"));
        b.Append(ByteString.Empty);
        b.Append(Bytes("def"));
        Assert.Equal(6, b.Count);
        Assert.Equal("abcdef", Text(b.Span));
        Assert.Equal("abcdef", Text(b.Memory.Span));
        Assert.False(b.Overflowed);
        b.Release();
    }

    [Fact]
    public void Bytes_beyond_the_limit_wait_in_the_overflow()
    {
        var b = new BoundedBuffer(4);
        b.Append(Bytes("ab"));
        Assert.False(b.Overflowed);
        b.Append(Bytes("cdef"));
        Assert.Equal("abcd", Text(b.Span));
        Assert.True(b.Overflowed);
        b.Append(Bytes("gh"));
        Assert.Equal("abcd", Text(b.Span));
        Assert.Equal("abcdefgh", b.Rest.ToString());
        b.Release();
    }

    [Fact]
    public void A_full_buffer_that_gets_nothing_more_has_not_overflowed()
    {
        var b = new BoundedBuffer(4);
        b.Append(Bytes("abcd"));
        Assert.Equal(4, b.Count);
        Assert.False(b.Overflowed);
        b.Release();
    }

    [Fact]
    public void Consume_drops_a_prefix_and_lets_the_overflow_in()
    {
        var b = new BoundedBuffer(4);
        b.Append(Bytes("abcdefg"));
        b.Consume(3);
        Assert.Equal("defg", Text(b.Span));
        Assert.False(b.Overflowed);
        Assert.Equal("defg", b.Rest.ToString());
        b.Consume(4);
        Assert.True(b.IsEmpty);
        Assert.Equal("", b.Rest.ToString());
        Assert.Throws<ArgumentOutOfRangeException>(() => b.Consume(1));
        b.Release();
    }

    [Fact]
    public void It_grows_past_its_first_array_up_to_the_limit()
    {
        var limit = 10_000;
        var b = new BoundedBuffer(limit);
        var all = new byte[limit + 5];
        new Random(7).NextBytes(all);
        for (var i = 0; i < all.Length; i += 333)
            b.Append(ByteString.FromBytes(all.AsSpan(i, Math.Min(333, all.Length - i)).ToArray()));
        Assert.Equal(limit, b.Count);
        Assert.True(b.Span.SequenceEqual(all.AsSpan(0, limit)));
        Assert.True(b.Overflowed);
        Assert.Equal(all, b.Rest.ToArray());
        b.Release();
        Assert.True(b.IsEmpty);
        b.Append(Bytes("again"));
        Assert.Equal("again", Text(b.Span));
        b.Release();
    }

    [Fact]
    public void A_frame_split_anywhere_parses_the_same_and_keeps_the_bytes_after_it()
    {
        var header = ProxyProtocol.Header(ProxyProtocol.Version.V1, new IPEndPoint(IPAddress.Parse("192.0.2.1"), 5000), new IPEndPoint(IPAddress.Parse("198.51.100.2"), 443));
        var wire = header.Concat("hello after"u8.ToArray()).ToArray();
        for (var first = 0; first <= wire.Length; first++)
            for (var second = first; second <= wire.Length; second++)
            {
                var b = new BoundedBuffer(ProxyProtocol.V2MaxLength);
                var parsed = default(ProxyProtocol.Result);
                var fed = 0;
                foreach (var end in new[] { first, second, wire.Length })
                {
                    b.Append(ByteString.FromBytes(wire[fed..end]));
                    fed = end;
                    parsed = ProxyProtocol.Parse(b.Span);
                    if (parsed.Status != ProxyProtocol.Status.NeedMore) break;
                }
                Assert.Equal(ProxyProtocol.Status.Complete, parsed.Status);
                Assert.Equal(header.Length, parsed.Length);
                b.Consume(parsed.Length);
                b.Append(ByteString.FromBytes(wire[fed..]));
                Assert.Equal("hello after", b.Rest.ToString());
                b.Release();
            }
    }
}
