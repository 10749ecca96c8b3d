using System.Text.Json.Serialization;

namespace L4P.Builtins;

/// <summary>The <c>GET /status.json</c> document; the generation's fields are left out before the first config is loaded.</summary>
internal sealed record StatusDocument(
    string Version,
    DateTimeOffset Now,
    double UptimeSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Generation,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? ConfigFile,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] DateTimeOffset? ConfigLoadedAt,
    double ConfigReloadsOk,
    double ConfigReloadsFailed,
    int? MaxConnections,
    double ActiveConnections,
    int? OpenSockets,
    IReadOnlyList<ServerStatus> Servers,
    IReadOnlyList<UpstreamStatus> Upstreams)
{
    /// <summary>Cluster mode: <c>joining</c>, <c>up</c>, <c>detached</c> or <c>leaving</c>; left out when standalone.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Cluster { get; init; }
}

internal sealed record ServerStatus(
    string Name,
    bool Tls,
    string Default,
    int Maxclients,
    IReadOnlyList<ListenStatus> Listen,
    double Active,
    double Total,
    double Rejected,
    double RejectedMaxConnections,
    double BytesIn,
    double BytesOut,
    IReadOnlyDictionary<string, double> Results,
    IReadOnlyDictionary<string, double> Routes);

internal sealed record ListenStatus(string Address, double Active, int Maxclients);

internal sealed record UpstreamStatus(
    string Name,
    string Url,
    IReadOnlyList<AddressStatus> Addresses,
    DateTimeOffset? LastDnsChange,
    string Balance,
    double DnsFailures,
    double? ConnectMsP50,
    double? ConnectMsP99,
    double Connections,
    IReadOnlyDictionary<string, double> Results,
    IReadOnlyDictionary<string, double> ConnectStatus);

internal sealed record AddressStatus(string Address, string State, int Active);

/// <summary>Source-generated serialization of <c>/status.json</c> (snake_case, as the README documents it; name-count maps keep their keys).</summary>
[JsonSourceGenerationOptions(WriteIndented = true, PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower)]
[JsonSerializable(typeof(StatusDocument))]
internal sealed partial class StatusJson : JsonSerializerContext;
