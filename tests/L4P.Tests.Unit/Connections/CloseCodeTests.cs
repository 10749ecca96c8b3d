using System.Text;
using L4P.Connections;
using Xunit;

namespace L4P.Tests.Connections;

/// <summary>Close codes: one stable label each, and the README lists exactly those labels.</summary>
public sealed class CloseCodeTests
{
    private const string ListStart = "`result` is a stable code (";

    [Fact]
    public void Every_code_has_its_own_label()
    {
        var labels = Enum.GetValues<CloseCode>().Select(c => c.Label()).ToList();
        Assert.Equal(labels.Count, labels.Distinct(StringComparer.Ordinal).Count());
        Assert.Equal("client_hello_timeout", CloseCode.ClientHelloTimeout.Label());
    }

    [Fact]
    public void A_proxy_status_label_carries_the_status()
    {
        Assert.Equal("proxy_status_407", new CloseReason(CloseCode.ProxyStatus, 407, "x").Label);
        Assert.Equal("idle_timeout", new CloseReason(CloseCode.IdleTimeout, null, "x").Label);
        Assert.Equal("ok", CloseReason.Ok.Label);
    }

    [Fact]
    public void The_README_lists_exactly_the_labels_of_the_enum()
    {
        var listed = ReadmeResultCodes();
        var labels = Enum.GetValues<CloseCode>().Select(c => c.Label()).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(labels, listed.Order(StringComparer.Ordinal).ToList());
    }

    /// <summary>
    /// The backticked words of the parenthesis after <see cref="ListStart"/> in section Logs; words in nested
    /// parentheses are explanations (a setting's name), not codes.
    /// </summary>
    private static List<string> ReadmeResultCodes()
    {
        var root = new DirectoryInfo(AppContext.BaseDirectory);
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "L4P.sln"))) root = root.Parent;
        Assert.NotNull(root);
        var readme = File.ReadAllText(Path.Combine(root.FullName, "README.md")).ReplaceLineEndings("\n");
        var logs = readme.IndexOf("\n## Logs\n", StringComparison.Ordinal);
        Assert.True(logs >= 0, "README has no section Logs");
        var start = readme.IndexOf(ListStart, logs, StringComparison.Ordinal);
        Assert.True(start >= 0, $"section Logs has no sentence starting {ListStart}");

        var codes = new List<string>();
        var depth = 0;
        StringBuilder? word = null;
        for (var i = start + ListStart.Length; i < readme.Length; i++)
        {
            var c = readme[i];
            if (word is not null)
            {
                if (c == '`')
                {
                    if (depth == 0) codes.Add(word.ToString());
                    word = null;
                }
                else word.Append(c);
            }
            else if (c == '`') word = new StringBuilder();
            else if (c == '(') depth++;
            else if (c == ')' && depth-- == 0) return codes;
        }
        Assert.Fail("the list of result codes has no closing parenthesis");
        return codes;
    }
}
