using System.Globalization;
using System.Net;

namespace L4P.Config;

/// <summary>Parsing of listen addresses, upstream URLs and CONNECT targets.</summary>
public static class Addresses
{
    /// <summary><c>0.0.0.0:443</c>, <c>[::]:443</c>, <c>127.0.0.1:8080</c>: an IP literal and a port.</summary>
    public static bool TryParseListen(string text, out IPEndPoint endpoint, out string problem)
    {
        endpoint = null!;
        if (!TrySplitHostPort(text, out var host, out var port, out problem)) return false;
        if (!IPAddress.TryParse(host, out var ip))
        {
            problem = $"'{host}' is not an IP address (listen takes an IP literal, e.g. 0.0.0.0:443 or [::]:443)";
            return false;
        }
        endpoint = new IPEndPoint(ip, port);
        return true;
    }

    /// <summary>
    /// A CONNECT target (<c>via.target</c>): <c>host:port</c>, <c>[v6]:port</c>, or a host without a port,
    /// which means <paramref name="defaultPort"/> (443, as <c>target_port</c>). Returns it as <c>host:port</c>.
    /// </summary>
    public static bool TryParseConnectTarget(string text, int defaultPort, out string target, out string problem)
    {
        target = text;
        var hasPort = text.StartsWith('[') ? !text.EndsWith(']') : text.Contains(':');
        if (!hasPort) target = $"{text}:{defaultPort}";
        return TrySplitHostPort(target, out _, out _, out problem);
    }

    /// <summary>Splits <c>host:port</c> or <c>[v6]:port</c>; the port must be 1..65535.</summary>
    public static bool TrySplitHostPort(string text, out string host, out int port, out string problem)
    {
        host = "";
        port = 0;
        problem = "";
        string portText;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']');
            if (close < 0 || close + 1 >= text.Length || text[close + 1] != ':')
            {
                problem = $"'{text}' is not [IPv6]:port";
                return false;
            }
            host = text[1..close];
            portText = text[(close + 2)..];
            if (!IPAddress.TryParse(host, out var v6) || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                problem = $"'{host}' in brackets is not an IPv6 address";
                return false;
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            if (colon <= 0)
            {
                problem = $"'{text}' has no port (expected host:port)";
                return false;
            }
            host = text[..colon];
            portText = text[(colon + 1)..];
            if (host.Contains(':'))
            {
                problem = $"'{text}': write IPv6 addresses in brackets, e.g. [::1]:443";
                return false;
            }
        }
        if (!int.TryParse(portText, NumberStyles.None, CultureInfo.InvariantCulture, out port) || port < 1 || port > 65535)
        {
            problem = $"bad port '{portText}' in '{text}' (expected 1 to 65535)";
            return false;
        }
        if (host.Length == 0 || !IsHostName(host) && !IPAddress.TryParse(host, out _))
        {
            problem = $"'{host}' is not a valid host name or IP address";
            return false;
        }
        return true;
    }

    /// <summary>Letters, digits, '-', '_' and '.' separated labels: what DNS and /etc/hosts accept.</summary>
    public static bool IsHostName(string host)
    {
        if (host.Length is 0 or > 253) return false;
        foreach (var label in host.TrimEnd('.').Split('.'))
        {
            if (label.Length is 0 or > 63) return false;
            foreach (var c in label)
                if (!char.IsAsciiLetterOrDigit(c) && c != '-' && c != '_') return false;
        }
        return true;
    }

    /// <summary>A CIDR block (<c>10.0.0.0/8</c>, <c>2001:db8::/32</c>) or a single address (a /32 or /128 of its own).</summary>
    public static bool TryParseNetwork(string text, out IPNetwork network)
    {
        text = text.Trim();
        if (!text.Contains('/') && IPAddress.TryParse(text, out var single))
        {
            network = new IPNetwork(single, single.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }
        return IPNetwork.TryParse(text, out network);
    }
}
