using System.Collections.Concurrent;

namespace L4P.Metrics;

/// <summary>
/// Observation counts per label value in the buckets of a Prometheus histogram (same upper bounds, plus
/// +Inf), kept beside it because prometheus-net does not expose a histogram's buckets: the status report
/// computes its quantiles from these. Lock-free: one array of counters per label value.
/// </summary>
public sealed class BucketCounts
{
    private readonly double[] _bounds;
    private readonly ConcurrentDictionary<string, long[]> _counts = new(StringComparer.Ordinal);

    /// <param name="bounds">The histogram's upper bounds, ascending, without +Inf.</param>
    public BucketCounts(double[] bounds)
    {
        if (!bounds.SequenceEqual(bounds.Order())) throw new ArgumentException("bounds must ascend", nameof(bounds));
        _bounds = [.. bounds];
    }

    public void Observe(string label, double value)
    {
        var counts = _counts.GetOrAdd(label, _ => new long[_bounds.Length + 1]);
        // As Prometheus: a value equal to a bound counts in that bound's bucket (le is inclusive).
        var i = Array.BinarySearch(_bounds, value);
        Interlocked.Increment(ref counts[i < 0 ? ~i : i]);
    }

    /// <summary>Cumulative counts (le -> count), +Inf last, as a histogram's <c>_bucket</c> samples; empty before the first observation.</summary>
    public IReadOnlyList<(double Le, double Count)> Cumulative(string label)
    {
        if (!_counts.TryGetValue(label, out var counts)) return [];
        var result = new (double Le, double Count)[counts.Length];
        long total = 0;
        for (var i = 0; i < counts.Length; i++)
        {
            total += Interlocked.Read(ref counts[i]);
            result[i] = (i < _bounds.Length ? _bounds[i] : double.PositiveInfinity, total);
        }
        return result;
    }

    /// <summary>The <paramref name="q"/>-quantile of the label's observations; null before the first.</summary>
    public double? Quantile(double q, string label) => Quantile(q, Cumulative(label));

    /// <summary>histogram_quantile over cumulative buckets (le -> count), as Prometheus does it.</summary>
    public static double? Quantile(double q, IEnumerable<(double Le, double Count)> buckets)
    {
        var b = buckets.OrderBy(x => x.Le).ToList();
        if (b.Count == 0 || b[^1].Count == 0) return null;
        var rank = q * b[^1].Count;
        double prevLe = 0, prevCount = 0;
        foreach (var (le, count) in b)
        {
            if (count >= rank)
            {
                if (double.IsPositiveInfinity(le)) return prevLe;
                return prevLe + (le - prevLe) * ((rank - prevCount) / Math.Max(count - prevCount, 1e-9));
            }
            (prevLe, prevCount) = (le, count);
        }
        return prevLe;
    }
}
