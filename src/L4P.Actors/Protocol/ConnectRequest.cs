using System.Text;

namespace L4P.Protocol;

/// <summary>
/// The <c>CONNECT</c> request L4P sends to an upstream HTTP proxy. The header lines (configured
/// headers, after env substitution) are encoded once per config; each connection adds only its target.
/// </summary>
public sealed class ConnectRequest
{
    private readonly byte[] _headers;
    private readonly bool _hasHost;

    public ConnectRequest(IEnumerable<KeyValuePair<string, string>> headers)
    {
        var sb = new StringBuilder();
        foreach (var (name, value) in headers)
        {
            sb.Append(name).Append(": ").Append(value).Append("\r\n");
            _hasHost |= name.Equals("Host", StringComparison.OrdinalIgnoreCase);
        }
        _headers = Encoding.ASCII.GetBytes(sb.ToString());
    }

    /// <summary><c>CONNECT target HTTP/1.1</c>, <c>Host: target</c> unless configured, the headers, a blank line.</summary>
    public byte[] For(string target)
    {
        var head = Encoding.ASCII.GetBytes(_hasHost
            ? $"CONNECT {target} HTTP/1.1\r\n"
            : $"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n");
        return [.. head, .. _headers, (byte)'\r', (byte)'\n'];
    }
}
