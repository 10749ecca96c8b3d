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
        ["proxyprotocol"] = b =>
        {
            var r = ProxyProtocol.Parse(b);
            if (!Enum.IsDefined(r.Status)) throw new InvalidOperationException($"status {r.Status}");
            if (r.Status != ProxyProtocol.Status.Complete) return;
            if (r.Length <= 0 || r.Length > b.Length || r.Length > ProxyProtocol.V2MaxLength)
                throw new InvalidOperationException($"header length {r.Length} outside the {b.Length} input bytes");
            if (b[0] == (byte)'P' && r.Length > ProxyProtocol.V1MaxLength) throw new InvalidOperationException($"v1 header of {r.Length} bytes");
            if ((r.Source is null) != (r.Destination is null)) throw new InvalidOperationException("a source without a destination");
            // The header alone parses the same (what follows it is the client's), and one byte less is not complete.
            var alone = ProxyProtocol.Parse(b.AsSpan(0, r.Length));
            if (alone != r) throw new InvalidOperationException($"the header alone parses as {alone}, with what follows as {r}");
            var cut = ProxyProtocol.Parse(b.AsSpan(0, r.Length - 1)).Status;
            if (cut != ProxyProtocol.Status.NeedMore) throw new InvalidOperationException($"one byte short of a complete header is {cut}");
            if (r.Source is { } src && r.Destination is { } dst)
            {
                if (src.AddressFamily != dst.AddressFamily) throw new InvalidOperationException($"source {src} and destination {dst} differ in family");
                // What L4P would send on (send_proxy) reads back as the same addresses (IPv4-mapped ones as
                // IPv4; a pair of different families, after that, as UNKNOWN / LOCAL).
                var (s4, d4) = (IpEndpoints.Unmap(src), IpEndpoints.Unmap(dst));
                var sameFamily = s4.AddressFamily == d4.AddressFamily;
                foreach (var version in new[] { ProxyProtocol.Version.V1, ProxyProtocol.Version.V2 })
                {
                    var again = ProxyProtocol.Parse(ProxyProtocol.Header(version, src, dst));
                    if (again.Status != ProxyProtocol.Status.Complete
                        || !Equals(again.Source, sameFamily ? s4 : null) || !Equals(again.Destination, sameFamily ? d4 : null))
                        throw new InvalidOperationException($"{version} of {src} -> {dst} reads back as {again}");
                }
            }
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
