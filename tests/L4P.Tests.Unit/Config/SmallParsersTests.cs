using L4P.Config;
using L4P.Host;
using Xunit;

namespace L4P.Tests.Config;

public sealed class SmallParsersTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("30", 30_000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h", 3_600_000)]
    [InlineData("1.5s", 1500)]
    [InlineData(" 2 s ", 2000)]
    [InlineData("0s", 0)]
    public void Durations_parse(string text, int ms)
    {
        Assert.True(Durations.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(ms), d);
    }

    [Fact]
    public void Durations_in_days_and_beyond_the_timer_limit_parse_as_milliseconds()
    {
        Assert.True(Durations.TryParse("2d", out var d));
        Assert.Equal(TimeSpan.FromDays(2), d);
        Assert.True(Durations.TryParseMilliseconds("60d", out var ms));
        Assert.Equal(60 * 86_400_000d, ms);
        Assert.True(ms > Durations.Max.TotalMilliseconds);
        Assert.Equal(uint.MaxValue - 1, Durations.Max.TotalMilliseconds);
    }

    [Theory]
    [InlineData("")]
    [InlineData("s")]
    [InlineData("5 parsecs")]
    [InlineData("-1s")]
    [InlineData("1e9999s")]
    public void Bad_durations_do_not_parse(string text) => Assert.False(Durations.TryParse(text, out _));

    [Theory]
    [InlineData("Basic ${PW}", "Basic s3cret")]
    [InlineData("Basic $PW", "Basic s3cret")]
    [InlineData("$PW$PW", "s3crets3cret")]
    [InlineData("cost: $$5", "cost: $5")]
    [InlineData("trailing $", "trailing $")]
    [InlineData("$1 and ${", "$1 and ${")]
    [InlineData("${PW}-x", "s3cret-x")]
    [InlineData("no vars", "no vars")]
    public void Env_substitution(string text, string expected) =>
        Assert.Equal(expected, EnvSubstitution.Apply(text, n => n == "PW" ? "s3cret" : null, out _));

    [Fact]
    public void Env_substitution_names_the_missing_variable()
    {
        Assert.Null(EnvSubstitution.Apply("a ${MISSING_ONE} b", _ => null, out var missing));
        Assert.Equal("MISSING_ONE", missing);
    }

    [Fact]
    public void Config_locator_prefers_flag_then_env_then_default_paths()
    {
        Assert.Equal("/x.yaml", ConfigLocator.Locate("/x.yaml", _ => "/env.yaml", _ => true));
        Assert.Equal("/env.yaml", ConfigLocator.Locate(null, _ => "/env.yaml", _ => true));
        Assert.Equal("/etc/l4p/config.yaml", ConfigLocator.Locate(null, _ => null, p => p == "/etc/l4p/config.yaml"));
        Assert.Equal("./l4p.yaml", ConfigLocator.Locate(null, _ => null, p => p == "./l4p.yaml"));
        Assert.Null(ConfigLocator.Locate(null, _ => null, _ => false));
    }
}
