using L4P.Config;
using L4P.LoadBalancing;

namespace L4P.Proxy;

/// <summary>The loaded config generation as the status page shows it; replaced whole on reload.</summary>
public sealed record StatusGeneration(int Number, ProxyConfig Config, BackendRegistry Backends, DateTimeOffset LoadedAt);
