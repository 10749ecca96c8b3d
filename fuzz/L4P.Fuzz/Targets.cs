using System.Text;
using L4P.Config;
using L4P.Protocol;

namespace L4P.Fuzz;

/// <summary>
/// What each fuzz target feeds its input to. A target passes when it returns; any exception other
/// than the documented "bad input" one is a bug (AFL++ records it as a crash).
/// </summary>
public static class Targets
{
    public static readonly IReadOnlyDictionary<string, Action<byte[]>> All = new Dictionary<string, Action<byte[]>>
    {
        ["clienthello"] = b =>
        {
            var r = ClientHello.Parse(b);
            if (r.Status == ClientHello.Status.Found && string.IsNullOrEmpty(r.ServerName)) throw new InvalidOperationException("Found without a name");
        },
        ["connectreply"] = b =>
        {
            var r = ConnectReply.Parse(b);
            if (r.Status == ConnectReply.Status.Complete && (r.HeaderLength > b.Length || r.HeaderLength <= 0))
                throw new InvalidOperationException($"header length {r.HeaderLength} outside the {b.Length} input bytes");
        },
        ["httphead"] = b =>
        {
            var s = HttpRequestHead.TryParse(b, out _, out var consumed);
            if (consumed > b.Length) throw new InvalidOperationException("consumed more than given");
            _ = s;
        },
        ["config"] = b =>
        {
            try
            {
                ConfigLoader.Parse(Encoding.UTF8.GetString(b), "fuzz.yaml", name => name == "UNSET" ? null : "value");
            }
            catch (ConfigException e) when (!e.Message.Contains('\n'))
            {
                // The documented outcome for bad config: one line.
            }
        },
    };
}
