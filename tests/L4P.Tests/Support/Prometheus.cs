using System.Globalization;
using System.Text.Json;

namespace L4P.Tests.Support;

/// <summary>Metrics text parsed by the reference Prometheus parser (tests/tools/promparse.py), never by substring.</summary>
public sealed class PrometheusSamples
{
    public sealed record Sample(string Family, string Type, string Name, Dictionary<string, string> Labels, double Value);

    public IReadOnlyList<Sample> All { get; }

    private PrometheusSamples(IReadOnlyList<Sample> all) => All = all;

    public static async Task<PrometheusSamples> ParseAsync(string text)
    {
        var script = Path.Combine(RepoRoot(), "tests", "tools", "promparse.py");
        var (code, stdout, stderr) = await Tools.RunAsync("/usr/bin/python3", script, stdin: text);
        if (code != 0) throw new FormatException($"not valid Prometheus text: {stderr}");
        using var doc = JsonDocument.Parse(stdout);
        var list = doc.RootElement.EnumerateArray().Select(e => new Sample(
            e.GetProperty("family").GetString()!,
            e.GetProperty("type").GetString()!,
            e.GetProperty("name").GetString()!,
            e.GetProperty("labels").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString()!),
            e.GetProperty("value").ValueKind == JsonValueKind.Number ? e.GetProperty("value").GetDouble()
                : double.Parse(e.GetProperty("value").GetString()!, CultureInfo.InvariantCulture))).ToList();
        return new PrometheusSamples(list);
    }

    /// <summary>The value of the one sample with that name and those labels (0 when absent).</summary>
    public double Value(string name, params (string Key, string Value)[] labels) =>
        All.Where(s => s.Name == name && labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);

    public bool Has(string name) => All.Any(s => s.Name == name);

    public static string RepoRoot()
    {
        var dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "L4P.sln"))) dir = Path.GetDirectoryName(dir) ?? throw new DirectoryNotFoundException("L4P.sln");
        return dir;
    }
}
