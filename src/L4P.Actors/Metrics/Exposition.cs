using System.Globalization;
using System.Text;

namespace L4P.Metrics;

/// <summary>
/// Reads back the Prometheus text that <see cref="ProxyMetrics"/> renders, so the status page shows
/// exactly the counters /metrics shows. Handles the subset prometheus-net writes: one sample per
/// line, <c>name{k="v",...} value</c>, escaped label values.
/// </summary>
public static class Exposition
{
    public sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value)
    {
        public string Label(string key) => Labels.TryGetValue(key, out var v) ? v : "";
    }

    public static List<Sample> Parse(string text)
    {
        var samples = new List<Sample>();
        foreach (var raw in text.Split('\n'))
        {
            var line = raw.TrimEnd('\r');
            if (line.Length == 0 || line[0] == '#') continue;
            var labels = new Dictionary<string, string>();
            var brace = line.IndexOf('{');
            var space = line.LastIndexOf(' ');
            if (space < 0) continue;
            string name;
            if (brace >= 0 && brace < space)
            {
                name = line[..brace];
                var end = ParseLabels(line, brace + 1, labels);
                if (end < 0) continue;
            }
            else name = line[..space];
            if (double.TryParse(line[(space + 1)..], NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
                samples.Add(new Sample(name, labels, value));
        }
        return samples;
    }

    private static int ParseLabels(string line, int i, Dictionary<string, string> labels)
    {
        while (i < line.Length && line[i] != '}')
        {
            var eq = line.IndexOf('=', i);
            if (eq < 0 || eq + 1 >= line.Length || line[eq + 1] != '"') return -1;
            var key = line[i..eq].Trim(',', ' ');
            var value = new StringBuilder();
            var j = eq + 2;
            for (; j < line.Length && line[j] != '"'; j++)
            {
                if (line[j] == '\\' && j + 1 < line.Length)
                {
                    j++;
                    value.Append(line[j] == 'n' ? '\n' : line[j]);
                }
                else value.Append(line[j]);
            }
            labels[key] = value.ToString();
            i = j + 1;
            if (i < line.Length && line[i] == ',') i++;
        }
        return i;
    }
}
