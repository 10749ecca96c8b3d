using L4P.Metrics;
using Xunit;

namespace L4P.Tests.Metrics;

public sealed class BucketCountsTests
{
    [Fact]
    public void Quantiles_interpolate_like_prometheus()
    {
        (double, double)[] buckets = [(0.001, 0), (0.002, 50), (0.004, 100), (double.PositiveInfinity, 100)];
        Assert.Equal(0.002, BucketCounts.Quantile(0.5, buckets)!.Value, 6);
        Assert.Equal(0.00396, BucketCounts.Quantile(0.99, buckets)!.Value, 6);
        Assert.Null(BucketCounts.Quantile(0.5, [(1.0, 0), (double.PositiveInfinity, 0)]));
    }

    [Fact]
    public void Observations_count_in_the_first_bucket_whose_bound_they_do_not_exceed()
    {
        var counts = new BucketCounts([1, 2, 4]);
        foreach (var v in new[] { 0.5, 1, 1.5, 2, 3, 9 }) counts.Observe("a", v);
        counts.Observe("b", 3);

        Assert.Equal([(1.0, 2.0), (2.0, 4.0), (4.0, 5.0), (double.PositiveInfinity, 6.0)], counts.Cumulative("a"));
        Assert.Equal([(1.0, 0.0), (2.0, 0.0), (4.0, 1.0), (double.PositiveInfinity, 1.0)], counts.Cumulative("b"));
        // Beyond the last bound, as Prometheus: the highest finite bound.
        Assert.Equal(4, counts.Quantile(0.99, "a"));
    }

    [Fact]
    public void A_label_never_observed_has_no_buckets_and_no_quantile()
    {
        var counts = new BucketCounts([1, 2]);
        Assert.Empty(counts.Cumulative("none"));
        Assert.Null(counts.Quantile(0.5, "none"));
    }

    [Fact]
    public void Concurrent_observations_are_all_counted()
    {
        var counts = new BucketCounts([1, 2]);
        Parallel.For(0, 10_000, i => counts.Observe("a", i % 3));
        Assert.Equal(10_000, counts.Cumulative("a")[^1].Count);
    }

    [Fact]
    public void Bounds_must_ascend() => Assert.Throws<ArgumentException>(() => new BucketCounts([2, 1]));
}
