using Xunit;

namespace L4P.Testing.Tests;

/// <summary>The README shows <c>ReadmeExample.cs</c> as it is: this keeps the two the same.</summary>
public sealed class ReadmeTests
{
    [Fact]
    public void The_README_shows_the_example_test_verbatim()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "L4P.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var example = File.ReadAllText(Path.Combine(root.FullName, "tests", "L4P.Testing.Tests", "ReadmeExample.cs"));
        var readme = File.ReadAllText(Path.Combine(root.FullName, "README.md"));
        Assert.Contains($"```csharp\n{example}```", readme, StringComparison.Ordinal);
    }
}
