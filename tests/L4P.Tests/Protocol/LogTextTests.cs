using System.Text;
using CsCheck;
using L4P.Protocol;
using Xunit;

namespace L4P.Tests.Protocol;

public sealed class LogTextTests
{
    [Theory]
    [InlineData("HTTP/1.1 403 Forbidden", "HTTP/1.1 403 Forbidden")]
    [InlineData("a.test", "a.test")]
    [InlineData("", "")]
    [InlineData("x\" result=ok", @"x\x22 result=ok")]
    [InlineData("back\\slash", @"back\x5cslash")]
    [InlineData("\u001b[31mred\u001b[0m", @"\x1b[31mred\x1b[0m")]
    [InlineData("line\r\nnext\0", @"line\x0d\x0anext\x00")]
    [InlineData("tab\there\u007f", @"tab\x09here\x7f")]
    [InlineData("caf\u00e9", @"caf\xe9")]
    [InlineData("\u2028 \ud83d\ude00", @"\u2028 \ud83d\ude00")]
    public void Printable_ascii_stays_everything_else_is_escaped(string text, string expected) =>
        Assert.Equal(expected, LogText.Escape(text));

    [Fact]
    public void Clean_text_is_returned_as_is()
    {
        var s = "conn to a.test:443";
        Assert.Same(s, LogText.Escape(s));
    }

    [Fact]
    public void Bytes_are_one_character_each_and_cut_at_the_maximum()
    {
        Assert.Equal(@"\x16\x03\x01\xff ok", LogText.Escape([0x16, 0x03, 0x01, 0xFF, (byte)' ', (byte)'o', (byte)'k']));
        Assert.Equal("abc...", LogText.Escape("abcdef"u8, 3));
        Assert.Equal("abc", LogText.Escape("abc"u8, 3));
    }

    [Fact]
    public void Property_the_result_is_printable_ascii_without_quotes_and_reversible()
    {
        Gen.String.Sample(s =>
        {
            var e = LogText.Escape(s);
            return e.All(c => c is >= ' ' and <= '~' and not '"') && Unescape(e) == s;
        }, iter: 5_000);
    }

    /// <summary>The inverse, to show nothing is lost: \xNN and \uNNNN back to their characters.</summary>
    private static string Unescape(string e)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < e.Length; i++)
        {
            if (e[i] != '\\') { sb.Append(e[i]); continue; }
            var n = e[i + 1] == 'x' ? 2 : 4;
            sb.Append((char)Convert.ToInt32(e.Substring(i + 2, n), 16));
            i += 1 + n;
        }
        return sb.ToString();
    }
}
