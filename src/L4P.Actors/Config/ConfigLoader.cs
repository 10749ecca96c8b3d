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
    private static readonly HashSet<string> TopLevelKeys =
        ["version", "log", "log_format", "log-format", "servers", "upstream", "shutdown_timeout", "resolver", "cluster", "transport", "max_connections"];

    private static readonly HashSet<string> ServerKeys =
        ["listen", "protocol", "tls", "sni", "default", "maxclients", "via", "timeouts", "client_hello_timeout", "accept_proxy", "accept_proxy_from", "maxclients_scope"];

    private static readonly HashSet<string> ViaKeys =
        ["target", "use_sni_as_target", "target_port", "connect_timeout", "stats_interval", "headers"];

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
        int? version = null;
        var log = LogSetting.Info;
        var format = LogFormat.Text;
        var shutdown = TimeSpan.FromSeconds(30);
        YamlMappingNode? serversNode = null;
        YamlNode? serversKey = null;
        var upstreams = BuiltinUpstreamConfig.All.ToBuilder();
        var resolver = ResolverConfig.Defaults;
        var cluster = ClusterConfig.Disabled;
        int? maxConnections = null;

        foreach (var (key, value, keyNode) in y.Entries(root, ""))
        {
            switch (key)
            {
                case "version":
                    var v = y.String(value, key);
                    version = v switch
                    {
                        "1" => 1,
                        "2" => 2,
                        _ => throw y.Error(value, key, $"unsupported version '{v}' (expected 1 or 2)"),
                    };
                    break;
                case "log":
                    log = y.String(value, key).ToLowerInvariant() switch
                    {
                        "disable" or "off" => LogSetting.Off,
                        "error" => LogSetting.Error,
                        "warn" or "warning" => LogSetting.Warn,
                        "info" => LogSetting.Info,
                        "debug" => LogSetting.Debug,
                        "trace" => LogSetting.Trace,
                        var other => throw y.Error(value, key, $"unknown log level '{other}' (expected disable, off, error, warn, info, debug or trace)"),
                    };
                    break;
                case "log_format" or "log-format":
                    format = y.String(value, key).ToLowerInvariant() switch
                    {
                        "text" or "txt" => LogFormat.Text,
                        "json" => LogFormat.Json,
                        var other => throw y.Error(value, key, $"unknown log format '{other}' (expected text or json)"),
                    };
                    break;
                case "shutdown_timeout":
                    shutdown = y.Duration(value, key);
                    break;
                case "resolver":
                    resolver = ParseResolver(y, value, key);
                    break;
                case "cluster":
                    cluster = ParseCluster(y, value, key);
                    break;
                case "max_connections":
                    maxConnections = y.Int(value, key, 1, 100_000_000);
                    break;
                case "transport":
                    // Still accepted with Akka.IO's name, so configs written when L4P had a second transport load.
                    var t = y.String(value, key);
                    var refused = t.ToLowerInvariant() switch
                    {
                        "akka" or "akka.io" => null,
                        "sockets" => $"'{t}' is no longer available",
                        _ => $"unknown transport '{t}'",
                    };
                    if (refused is not null)
                        throw y.Error(value, key, $"{refused}: Akka.IO is L4P's only transport (remove the key or write transport: akka)");
                    break;
                case "servers":
                    serversNode = y.Mapping(value, key);
                    serversKey = keyNode;
                    break;
                case "upstream":
                    if (y.OptionalMapping(value, key) is { } ups)
                        foreach (var (name, url, nameNode) in y.Entries(ups, key))
                        {
                            if (BuiltinUpstreamConfig.All.ContainsKey(name))
                                throw y.Error(nameNode, $"upstream.{name}", $"'{name}' is a built-in upstream and cannot be redefined");
                            upstreams[name] = ParseUpstream(y, name, url, $"upstream.{name}");
                        }
                    break;
                default:
                    // The seed family allows top-level keys that only hold a YAML anchor (via: &corp ...).
                    if (!value.Anchor.IsEmpty) break;
                    throw y.Error(keyNode, key, $"unknown key (expected one of: {string.Join(", ", TopLevelKeys.Where(k => k != "log-format"))}; a top-level key that only holds a YAML anchor is allowed)");
            }
        }

        if (version is null) throw y.Error(root, "version", "missing (expected 1 or 2)");
        if (serversNode is null) throw y.Error(root, "servers", "missing: define at least one server");

        var servers = ImmutableArray.CreateBuilder<ServerConfig>();
        var listenSeen = new Dictionary<IPEndPoint, string>();
        var upstreamMap = upstreams.ToImmutable();
        foreach (var (name, value, _) in y.Entries(serversNode, "servers"))
        {
            var server = ParseServer(y, name, value, $"servers.{name}", upstreamMap, cluster.Enabled);
            foreach (var ep in server.Listen)
            {
                if (listenSeen.TryGetValue(ep, out var other))
                    throw y.Error(value, $"servers.{name}.listen", $"duplicate listen address {ep} (already used by servers.{other})");
                listenSeen[ep] = name;
            }
            servers.Add(server);
        }
        if (servers.Count == 0) throw y.Error(serversKey, "servers", "no server defined");

        return new ProxyConfig(file, version.Value, log, format, shutdown, servers.ToImmutable(), upstreamMap, resolver) { Cluster = cluster, MaxConnections = maxConnections };
    }

    private static ClusterConfig ParseCluster(YamlNodes y, YamlNode node, string path)
    {
        var c = ClusterConfig.Disabled with { Enabled = true };
        if (y.OptionalMapping(node, path) is not { } map) return ClusterConfig.Disabled;
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "enabled": c = c with { Enabled = y.Bool(value, p) }; break;
                case "hostname": c = c with { Hostname = y.String(value, p) }; break;
                case "port": c = c with { Port = y.Int(value, p, 1, 65535) }; break;
                case "roles": c = c with { Roles = [.. y.StringList(value, p).Select(r => r.Value)] }; break;
                case "seed_nodes":
                    var seeds = ImmutableArray.CreateBuilder<string>();
                    foreach (var (text, itemNode, itemPath) in y.StringList(value, p))
                    {
                        // host:port is shorthand for the Akka address of an L4P node there.
                        var hostPort = text.StartsWith("akka.tcp://", StringComparison.Ordinal) ? text[(text.IndexOf('@') + 1)..] : text;
                        if (text.StartsWith("akka.tcp://", StringComparison.Ordinal) && !text.StartsWith($"akka.tcp://{ClusterConfig.SystemName}@", StringComparison.Ordinal))
                            throw y.Error(itemNode, itemPath, $"'{text}' is not an L4P node (expected akka.tcp://{ClusterConfig.SystemName}@host:port or host:port)");
                        if (!Addresses.TrySplitHostPort(hostPort, out var h, out var port, out var problem))
                            throw y.Error(itemNode, itemPath, problem);
                        seeds.Add($"akka.tcp://{ClusterConfig.SystemName}@{h}:{port}");
                    }
                    c = c with { SeedNodes = seeds.ToImmutable() };
                    break;
                default:
                    throw y.Error(keyNode, p, "unknown key (expected enabled, hostname, port, seed_nodes or roles)");
            }
        }
        return c;
    }

    private static ResolverConfig ParseResolver(YamlNodes y, YamlNode node, string path)
    {
        var r = ResolverConfig.Defaults;
        if (y.OptionalMapping(node, path) is not { } map) return r;
        YamlNode? ttlNode = null;
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "nameservers":
                    var list = ImmutableArray.CreateBuilder<IPEndPoint>();
                    foreach (var (text, itemNode, itemPath) in y.StringList(value, p))
                    {
                        // A bare IP means port 53.
                        if (IPAddress.TryParse(text, out var bare)) list.Add(new IPEndPoint(bare, 53));
                        else if (Addresses.TryParseListen(text, out var ep, out var problem)) list.Add(ep);
                        else throw y.Error(itemNode, itemPath, problem.Replace("listen takes", "nameservers take", StringComparison.Ordinal));
                    }
                    r = r with { Nameservers = list.ToImmutable() };
                    break;
                case "interval": r = r with { Interval = Positive(y, value, p) }; break;
                case "retry": r = r with { Retry = Positive(y, value, p) }; break;
                case "timeout": r = r with { Timeout = Positive(y, value, p) }; break;
                case "min_ttl": r = r with { MinTtl = Positive(y, value, p) }; break;
                case "respect_ttl":
                    r = r with { RespectTtl = y.Bool(value, p) };
                    ttlNode = value;
                    break;
                default:
                    throw y.Error(keyNode, p, "unknown key (expected nameservers, interval, retry, timeout, respect_ttl or min_ttl)");
            }
        }
        if (r.RespectTtl && r.Nameservers.IsEmpty)
            throw y.Error(ttlNode, $"{path}.respect_ttl", "needs resolver.nameservers (the system resolver gives no TTL)");
        return r;
    }

    private static ServerConfig ParseServer(YamlNodes y, string name, YamlNode node, string path,
        ImmutableDictionary<string, UpstreamConfig> upstreams, bool clustered)
    {
        var map = y.Mapping(node, path);
        var scope = LimitScope.Node;
        var listen = ImmutableArray.CreateBuilder<IPEndPoint>();
        var tls = false;
        var sni = ImmutableArray.CreateBuilder<SniRule>();
        var defaultUpstream = "ban";
        var maxClients = 100;
        var via = ViaConfig.None;
        var timeouts = ServerTimeouts.Defaults;
        var acceptProxy = false;
        var acceptProxyFrom = ImmutableArray.CreateBuilder<IPNetwork>();
        YamlNode? acceptProxyFromNode = null;
        var connectGiven = false;
        var viaConnectTimeoutGiven = false;
        YamlNode? listenNode = null;

        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "listen":
                    listenNode = value;
                    foreach (var (text, itemNode, itemPath) in y.StringList(value, p))
                    {
                        if (!Addresses.TryParseListen(text, out var ep, out var problem))
                            throw y.Error(itemNode, itemPath, problem);
                        if (listen.Contains(ep)) throw y.Error(itemNode, itemPath, $"duplicate listen address {ep}");
                        listen.Add(ep);
                    }
                    break;
                case "protocol":
                    var proto = y.String(value, p);
                    if (proto.Equals("tcp", StringComparison.OrdinalIgnoreCase)) break;
                    throw y.Error(value, p, proto.Equals("kcp", StringComparison.OrdinalIgnoreCase)
                        ? "protocol 'kcp' (from fourth) is not supported; L4P proxies tcp only"
                        : $"unknown protocol '{proto}' (expected tcp)");
                case "tls":
                    tls = y.Bool(value, p);
                    break;
                case "sni":
                    if (y.OptionalMapping(value, p) is { } sniMap)
                        foreach (var (pattern, target, patternNode) in y.Entries(sniMap, p))
                            sni.Add(ParseSniRule(y, pattern, target, patternNode, $"{p}.{pattern}", sni));
                    break;
                case "default":
                    defaultUpstream = y.String(value, p);
                    break;
                case "maxclients":
                    maxClients = y.Int(value, p, 1, 1_000_000);
                    break;
                case "via":
                    via = ParseVia(y, value, p, out viaConnectTimeoutGiven);
                    break;
                case "timeouts":
                    timeouts = ParseTimeouts(y, value, p, timeouts, out connectGiven);
                    break;
                case "client_hello_timeout":
                    timeouts = timeouts with { ClientHello = Positive(y, value, p) };
                    break;
                case "accept_proxy":
                    acceptProxy = y.Bool(value, p);
                    break;
                case "accept_proxy_from":
                    acceptProxyFromNode = value;
                    foreach (var (text, itemNode, itemPath) in y.StringList(value, p))
                        acceptProxyFrom.Add(Addresses.TryParseNetwork(text, out var network)
                            ? network
                            : throw y.Error(itemNode, itemPath, $"'{text}' is not an address or CIDR block (e.g. 10.0.0.0/8, 2001:db8::/32)"));
                    break;
                case "maxclients_scope":
                    scope = y.String(value, p).ToLowerInvariant() switch
                    {
                        "node" => LimitScope.Node,
                        "cluster" => LimitScope.Cluster,
                        var other => throw y.Error(value, p, $"unknown scope '{other}' (expected node or cluster)"),
                    };
                    if (scope == LimitScope.Cluster && !clustered)
                        throw y.Error(value, p, "'cluster' needs cluster mode (a cluster: section with enabled: true)");
                    break;
                default:
                    throw y.Error(keyNode, p, $"unknown key (expected one of: {string.Join(", ", ServerKeys)})");
            }
        }

        if (listen.Count == 0) throw y.Error(listenNode ?? node, $"{path}.listen", "missing: give at least one address, e.g. [\"127.0.0.1:8080\"]");
        if (acceptProxyFromNode is not null && !acceptProxy)
            throw y.Error(acceptProxyFromNode, $"{path}.accept_proxy_from", "has no effect without accept_proxy: true");
        // tls-proxy-tunnel: a via without a target (no CONNECT) still carries connect_timeout, and there it
        // is the connect timeout of direct connections. An explicit timeouts.connect wins.
        if (!via.IsActive && viaConnectTimeoutGiven && !connectGiven)
            timeouts = timeouts with { Connect = via.ConnectTimeout };
        CheckUpstream(y, map, "default", defaultUpstream, $"{path}.default", upstreams);
        foreach (var rule in sni)
            CheckUpstream(y, map, "sni", rule.Upstream, $"{path}.sni.{rule.Pattern}", upstreams);

        return new ServerConfig(name, listen.ToImmutable(), tls, sni.ToImmutable(), defaultUpstream, maxClients, via, timeouts)
        {
            AcceptProxy = acceptProxy,
            AcceptProxyFrom = acceptProxyFrom.ToImmutable(),
            MaxClientsScope = scope,
        };
    }

    private static ServerTimeouts ParseTimeouts(YamlNodes y, YamlNode node, string path, ServerTimeouts t, out bool connectGiven)
    {
        connectGiven = false;
        foreach (var (key, value, keyNode) in y.Entries(y.Mapping(node, path), path))
        {
            var p = $"{path}.{key}";
            connectGiven |= key == "connect";
            t = key switch
            {
                "client_hello" => t with { ClientHello = Positive(y, value, p) },
                "connect" => t with { Connect = Positive(y, value, p) },
                "idle" => t with { Idle = Positive(y, value, p) },
                "http_request" => t with { HttpRequest = Positive(y, value, p) },
                _ => throw y.Error(keyNode, p, "unknown key (expected client_hello, connect, idle or http_request)"),
            };
        }
        return t;
    }

    private static TimeSpan Positive(YamlNodes y, YamlNode node, string path)
    {
        var d = y.Duration(node, path);
        return d > TimeSpan.Zero ? d : throw y.Error(node, path, "must be greater than 0");
    }

    private static void CheckUpstream(YamlNodes y, YamlMappingNode server, string key, string upstream, string path,
        ImmutableDictionary<string, UpstreamConfig> upstreams)
    {
        if (upstreams.ContainsKey(upstream)) return;
        var at = server.Children.FirstOrDefault(kv => kv.Key is YamlScalarNode { Value: var k } && k == key).Value ?? server;
        var known = string.Join(", ", upstreams.Keys.Order(StringComparer.Ordinal));
        throw y.Error(at, path, $"unknown upstream '{upstream}' (defined: {known})");
    }

    private static SniRule ParseSniRule(YamlNodes y, string pattern, YamlNode target, YamlNode patternNode, string path,
        ImmutableArray<SniRule>.Builder seen)
    {
        var normalized = pattern.Trim().TrimEnd('.').ToLowerInvariant();
        var host = normalized.StartsWith("*.", StringComparison.Ordinal) ? normalized[2..] : normalized;
        if (!Addresses.IsHostName(host) || host.Contains('*'))
            throw y.Error(patternNode, path, $"'{pattern}' is not a server name or a wildcard such as *.example.org");
        if (seen.Any(r => r.Pattern == normalized))
            throw y.Error(patternNode, path, $"duplicate SNI rule '{normalized}'");

        if (target is YamlScalarNode)
            return new SniRule(normalized, y.String(target, path), null);

        string? upstream = null;
        ViaConfig? via = null;
        Protocol.ProxyProtocol.Version? sendProxy = null;
        var sendProxySet = false;
        foreach (var (key, value, keyNode) in y.Entries(y.Mapping(target, path), path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "upstream": upstream = y.String(value, p); break;
                case "via": via = ParseVia(y, value, p, out _); break;
                case "send_proxy":
                    sendProxy = ParseSendProxy(y, value, p);
                    sendProxySet = true;
                    break;
                default: throw y.Error(keyNode, p, "unknown key (expected upstream, via or send_proxy)");
            }
        }
        return upstream is null
            ? throw y.Error(target, $"{path}.upstream", "missing: name the upstream for this server name")
            : new SniRule(normalized, upstream, via) { SendProxy = sendProxy, SendProxySet = sendProxySet };
    }

    /// <summary><paramref name="connectTimeoutGiven"/>: connect_timeout was written (for a via without a target, see ParseServer).</summary>
    private static ViaConfig ParseVia(YamlNodes y, YamlNode node, string path, out bool connectTimeoutGiven)
    {
        connectTimeoutGiven = false;
        var via = ViaConfig.None;
        if (y.OptionalMapping(node, path) is not { } map) return via;
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "target":
                    var target = y.String(value, p);
                    if (target.Length == 0) break; // the seed treats an empty target as "no static target"
                    // No port means 443, like target_port's default (the seed README's example has none).
                    if (!Addresses.TryParseConnectTarget(target, 443, out var withPort, out var problem))
                        throw y.Error(value, p, problem);
                    via = via with { Target = withPort };
                    break;
                case "use_sni_as_target": via = via with { UseSniAsTarget = y.Bool(value, p) }; break;
                case "target_port": via = via with { TargetPort = y.Int(value, p, 1, 65535) }; break;
                case "connect_timeout":
                    via = via with { ConnectTimeout = Positive(y, value, p) };
                    connectTimeoutGiven = true;
                    break;
                case "stats_interval": via = via with { StatsInterval = y.Duration(value, p) }; break;
                case "headers":
                    var headers = ImmutableArray.CreateBuilder<KeyValuePair<string, string>>();
                    if (y.OptionalMapping(value, p) is { } hmap)
                        foreach (var (hname, hvalue, hnameNode) in y.Entries(hmap, p))
                        {
                            var hp = $"{p}.{hname}";
                            if (!HttpToken.IsToken(hname))
                                throw y.Error(hnameNode, hp, "header name is not a valid HTTP token");
                            var text = y.String(hvalue, hp);
                            if (text.AsSpan().IndexOfAny('\r', '\n') >= 0)
                                throw y.Error(hvalue, hp, "header value contains CR or LF (after environment substitution)");
                            headers.Add(new(hname, text));
                        }
                    via = via with { Headers = headers.ToImmutable() };
                    break;
                default:
                    throw y.Error(keyNode, p, $"unknown key (expected one of: {string.Join(", ", ViaKeys)})");
            }
        }
        return via;
    }

    private static Protocol.ProxyProtocol.Version? ParseSendProxy(YamlNodes y, YamlNode node, string path) =>
        y.String(node, path).ToLowerInvariant() switch
        {
            "v1" or "1" => Protocol.ProxyProtocol.Version.V1,
            "v2" or "2" => Protocol.ProxyProtocol.Version.V2,
            "off" or "false" or "none" => null,
            var other => throw y.Error(node, path, $"unknown PROXY protocol version '{other}' (expected v1, v2 or off)"),
        };

    /// <summary>
    /// A string (<c>tcp://host:port</c>) or a mapping:
    /// <c>{ target | targets, balance, check, send_proxy }</c>.
    /// </summary>
    private static UpstreamConfig ParseUpstream(YamlNodes y, string name, YamlNode node, string path)
    {
        if (node is not YamlMappingNode map) return new TcpUpstreamConfig(name, [ParseTarget(y, node, path)]);
        var targets = ImmutableArray.CreateBuilder<TargetConfig>();
        var up = new TcpUpstreamConfig(name, []);
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            switch (key)
            {
                case "target":
                    targets.Add(ParseTarget(y, value, p));
                    break;
                case "targets":
                    if (value is not YamlSequenceNode seq) throw y.Error(value, p, $"expected a list of URLs, got {YamlNodes.Describe(value)}");
                    var i = 0;
                    foreach (var item in seq.Children) targets.Add(ParseTarget(y, item, $"{p}[{i++}]"));
                    break;
                case "balance":
                    up = up with
                    {
                        Balance = y.String(value, p).ToLowerInvariant() switch
                        {
                            "roundrobin" or "round_robin" => Balance.RoundRobin,
                            "leastconn" or "least_conn" => Balance.LeastConn,
                            "random" => Balance.Random,
                            "source" => Balance.Source,
                            var other => throw y.Error(value, p, $"unknown balance '{other}' (expected roundrobin, leastconn, random or source)"),
                        },
                    };
                    break;
                case "check":
                    up = up with { Check = ParseCheck(y, value, p) };
                    break;
                case "outlier":
                    up = up with { Outlier = ParseOutlier(y, value, p) };
                    break;
                case "send_proxy":
                    up = up with { SendProxy = ParseSendProxy(y, value, p) };
                    break;
                default: throw y.Error(keyNode, p, "unknown key (expected target, targets, balance, check, outlier or send_proxy)");
            }
        }
        if (targets.Count == 0) throw y.Error(node, $"{path}.target", "missing: give the upstream's URL (target) or URLs (targets), e.g. tcp://host:443");
        return up with { Targets = targets.ToImmutable() };
    }

    private static HealthCheckConfig ParseCheck(YamlNodes y, YamlNode node, string path) =>
        ParseOptions(y, node, path, HealthCheckConfig.Defaults, "interval, timeout, rise, fall, send or expect", (c, key, value, p) => key switch
        {
            "interval" => c with { Interval = Positive(y, value, p) },
            "timeout" => c with { Timeout = Positive(y, value, p) },
            "rise" => c with { Rise = y.Int(value, p, 1, 100) },
            "fall" => c with { Fall = y.Int(value, p, 1, 100) },
            "send" => c with { Send = y.String(value, p) },
            "expect" => c with { Expect = y.String(value, p) },
            _ => null,
        });

    private static OutlierConfig ParseOutlier(YamlNodes y, YamlNode node, string path) =>
        ParseOptions(y, node, path, OutlierConfig.Defaults, "failures or eject_for", (c, key, value, p) => key switch
        {
            "failures" => c with { Failures = y.Int(value, p, 1, 1000) },
            "eject_for" => c with { EjectFor = Positive(y, value, p) },
            _ => null,
        });

    /// <summary>
    /// A small mapping of optional keys over <paramref name="defaults"/> (an empty or null value keeps
    /// them): <paramref name="apply"/> returns the record changed by one key, or null for an unknown key.
    /// </summary>
    private static T ParseOptions<T>(YamlNodes y, YamlNode node, string path, T defaults, string expected,
        Func<T, string, YamlNode, string, T?> apply) where T : class
    {
        var c = defaults;
        if (y.OptionalMapping(node, path) is not { } map) return c;
        foreach (var (key, value, keyNode) in y.Entries(map, path))
        {
            var p = $"{path}.{key}";
            c = apply(c, key, value, p) ?? throw y.Error(keyNode, p, $"unknown key (expected {expected})");
        }
        return c;
    }

    private static TargetConfig ParseTarget(YamlNodes y, YamlNode node, string path)
    {
        var url = y.String(node, path);
        var sep = url.IndexOf("://", StringComparison.Ordinal);
        if (sep < 0) throw y.Error(node, path, $"'{url}' is not a URL (expected tcp://host:port, tcp4://host:port or tcp6://host:port)");
        var scheme = url[..sep].ToLowerInvariant();
        var family = scheme switch
        {
            "tcp" => AddressFamilyFilter.Any,
            "tcp4" => AddressFamilyFilter.IPv4,
            "tcp6" => AddressFamilyFilter.IPv6,
            _ => throw y.Error(node, path, $"unsupported scheme '{scheme}' in '{url}' (expected tcp, tcp4 or tcp6)"),
        };
        var rest = url[(sep + 3)..].TrimEnd('/');
        if (!Addresses.TrySplitHostPort(rest, out var host, out var port, out var problem))
            throw y.Error(node, path, problem);
        var target = new TargetConfig(host, port, family, url);
        if (target.Literal is { } ip && (family == AddressFamilyFilter.IPv4 && ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetwork
                                         || family == AddressFamilyFilter.IPv6 && ip.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6))
            throw y.Error(node, path, $"address {ip} does not match scheme {scheme}");
        return target;
    }

    private static string OneLine(string s) => s.ReplaceLineEndings(" ").Trim();
}
