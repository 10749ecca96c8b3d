using System.Collections.Immutable;
using System.Net;
using YamlDotNet.Core;
using YamlDotNet.Core.Events;
using YamlDotNet.RepresentationModel;

namespace L4P.Config;

/// <summary>
/// YAML (the layer4-proxy / tls-proxy-tunnel format) -> a validated <see cref="ProxyConfig"/>.
/// Every problem is a <see cref="ConfigException"/> with one line naming file, position, key path and cause.
/// </summary>
public static class ConfigLoader
{
    // Servers are read after this table (they name upstreams and may depend on cluster mode, written in
    // any order); "servers" here only checks that it is a mapping, where it is written.
    private static readonly Section<ProxyConfig> TopLevelKeys = new(KeyListing.OneOf, anchorHolders: true)
    {
        { "version", (y, v, p, c) => c with { Version = Version(y, v, p) } },
        { "log", (y, v, p, c) => c with { Log = LogLevel(y, v, p) } },
        { "log_format", (y, v, p, c) => c with { LogFormat = Format(y, v, p) } },
        { "log-format", "log_format" },
        { "servers", (y, v, p, c) =>
            {
                _ = y.Mapping(v, p);
                return c;
            } },
        { "upstream", (y, v, p, c) => c with { Upstreams = UpstreamSection.ReadAll(y, v, p) } },
        { "shutdown_timeout", (y, v, p, c) => c with { ShutdownTimeout = y.Duration(v, p) } },
        { "resolver", (y, v, p, c) => c with { Resolver = ResolverSection.Read(y, v, p) } },
        { "cluster", (y, v, p, c) => c with { Cluster = ClusterSection.Read(y, v, p) } },
        { "transport", Transport },
        { "max_connections", (y, v, p, c) => c with { MaxConnections = y.Int(v, p, 1, 100_000_000) } },
    };

    public static ProxyConfig LoadFile(string path, Func<string, string?>? env = null)
    {
        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException($"{path}: cannot read config file: {e.Message}");
        }
        return Parse(text, path, env ?? Environment.GetEnvironmentVariable);
    }

    public static ProxyConfig Parse(string yaml, string file, Func<string, string?> env)
    {
        var y = new YamlNodes(file, env);
        YamlNode root;
        try
        {
            CheckAliases(yaml, file);
            var stream = new YamlStream();
            stream.Load(new MergingParser(new Parser(new StringReader(yaml))));
            if (stream.Documents.Count == 0) throw y.Error(null, "", "the file is empty");
            root = stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            var inner = e.InnerException?.Message ?? e.Message;
            throw new ConfigException($"{file}:{e.Start.Line}:{e.Start.Column}: invalid YAML: {OneLine(inner)}");
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or FormatException or OverflowException)
        {
            // YamlDotNet throws these on some malformed input (found by fuzzing) without a position.
            throw new ConfigException($"{file}: invalid YAML: {OneLine(e.Message)}");
        }
        return Build(y, y.Mapping(root, ""), file);
    }

    /// <summary>
    /// YAML requires an anchor before its aliases. YamlDotNet's representation model overflows the stack
    /// (found by fuzzing; a crash, not an exception) on an alias used before its anchor, and a recursive
    /// alias builds a cyclic tree; both are refused here from the event stream, before the model is built.
    /// </summary>
    private static void CheckAliases(string yaml, string file)
    {
        var parser = new Parser(new StringReader(yaml));
        var defined = new HashSet<string>();
        var open = new Stack<string?>();
        while (parser.MoveNext())
        {
            switch (parser.Current)
            {
                case AnchorAlias alias when !defined.Contains(alias.Value.Value) || open.Contains(alias.Value.Value):
                    var problem = defined.Contains(alias.Value.Value) ? "refers to a node that contains it" : "is used before its anchor is defined";
                    throw new ConfigException($"{file}:{alias.Start.Line}:{alias.Start.Column}: invalid YAML: alias *{alias.Value} {problem}");
                case MappingStart or SequenceStart:
                    var anchor = ((NodeEvent)parser.Current).Anchor;
                    if (!anchor.IsEmpty) defined.Add(anchor.Value);
                    open.Push(anchor.IsEmpty ? null : anchor.Value);
                    break;
                case MappingEnd or SequenceEnd:
                    if (open.Count > 0) open.Pop();
                    break;
                case Scalar { Anchor.IsEmpty: false } scalar:
                    defined.Add(scalar.Anchor.Value);
                    break;
            }
        }
    }

    private static ProxyConfig Build(YamlNodes y, YamlMappingNode root, string file)
    {
        var c = TopLevelKeys.Read(y, root, "",
            new ProxyConfig(file, 0, LogSetting.Info, LogFormat.Text, TimeSpan.FromSeconds(30), [], BuiltinUpstreamConfig.All, ResolverConfig.Defaults));
        if (YamlNodes.Find(root, "version").Key is null) throw y.Error(root, "version", "missing (expected 1 or 2)");
        if (YamlNodes.Find(root, "servers") is not ({ } serversKey, YamlMappingNode serversNode))
            throw y.Error(root, "servers", "missing: define at least one server");

        var servers = ImmutableArray.CreateBuilder<ServerConfig>();
        var listenSeen = new Dictionary<IPEndPoint, string>();
        foreach (var (name, value, _) in y.Entries(serversNode, "servers"))
        {
            var server = ServerSection.Read(y, name, value, $"servers.{name}", c.Upstreams, c.Cluster.Enabled);
            foreach (var ep in server.Listen)
            {
                if (listenSeen.TryGetValue(ep, out var other))
                    throw y.Error(value, $"servers.{name}.listen", $"duplicate listen address {ep} (already used by servers.{other})");
                listenSeen[ep] = name;
            }
            servers.Add(server);
        }
        if (servers.Count == 0) throw y.Error(serversKey, "servers", "no server defined");
        return c with { Servers = servers.ToImmutable() };
    }

    private static int Version(YamlNodes y, YamlNode value, string path) => y.String(value, path) switch
    {
        "1" => 1,
        "2" => 2,
        var other => throw y.Error(value, path, $"unsupported version '{other}' (expected 1 or 2)"),
    };

    private static LogSetting LogLevel(YamlNodes y, YamlNode value, string path) => y.String(value, path).ToLowerInvariant() switch
    {
        "disable" or "off" => LogSetting.Off,
        "error" => LogSetting.Error,
        "warn" or "warning" => LogSetting.Warn,
        "info" => LogSetting.Info,
        "debug" => LogSetting.Debug,
        "trace" => LogSetting.Trace,
        var other => throw y.Error(value, path, $"unknown log level '{other}' (expected disable, off, error, warn, info, debug or trace)"),
    };

    private static LogFormat Format(YamlNodes y, YamlNode value, string path) => y.String(value, path).ToLowerInvariant() switch
    {
        "text" or "txt" => LogFormat.Text,
        "json" => LogFormat.Json,
        var other => throw y.Error(value, path, $"unknown log format '{other}' (expected text or json)"),
    };

    private static ProxyConfig Transport(YamlNodes y, YamlNode value, string path, ProxyConfig c)
    {
        // Still accepted with Akka.IO's name, so configs written when L4P had a second transport load.
        var t = y.String(value, path);
        var refused = t.ToLowerInvariant() switch
        {
            "akka" or "akka.io" => null,
            "sockets" => $"'{t}' is no longer available",
            _ => $"unknown transport '{t}'",
        };
        return refused is null ? c : throw y.Error(value, path, $"{refused}: Akka.IO is L4P's only transport (remove the key or write transport: akka)");
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
