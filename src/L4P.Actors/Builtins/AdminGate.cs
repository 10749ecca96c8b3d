using System.Net;
using L4P.Config;
using L4P.Routing;

namespace L4P.Builtins;

/// <summary>Why the admin built-in refused a request (<c>l4p_admin_refused_total{reason}</c>); the client only ever sees 403.</summary>
public enum AdminRefusal
{
    /// <summary>The client address is in <c>deny</c>, or not in <c>allow</c> (without <c>allow</c>: not loopback).</summary>
    ForbiddenSource,

    /// <summary><c>admin_token</c> is set and the request's <c>Authorization: Bearer</c> is missing or wrong.</summary>
    BadToken,
}

public static class AdminRefusals
{
    public static string Label(this AdminRefusal refusal) => refusal switch
    {
        AdminRefusal.ForbiddenSource => "forbidden_source",
        AdminRefusal.BadToken => "bad_token",
        _ => throw new ArgumentOutOfRangeException(nameof(refusal), refusal, null),
    };
}

/// <summary>
/// Who the admin built-in answers on one connection: the source is decided once (it cannot change), the
/// token on every request (each carries its own header).
/// </summary>
public sealed class AdminGate
{
    private readonly bool _sourceAllowed;
    private readonly BearerToken? _token;

    private AdminGate(bool sourceAllowed, BearerToken? token)
    {
        _sourceAllowed = sourceAllowed;
        _token = token;
    }

    /// <summary>The gate of <paramref name="server"/> for <paramref name="client"/>, the effective client address (after a trusted PROXY header).</summary>
    public static AdminGate For(ServerConfig server, IPAddress? client) =>
        new(ClientAccess.Refusal(server, client, loopbackByDefault: true) is null, server.AdminToken);

    /// <summary>Null: serve the request. <paramref name="authorization"/> is its <c>Authorization</c> value (null when absent).</summary>
    public AdminRefusal? Check(string? authorization) =>
        !_sourceAllowed ? AdminRefusal.ForbiddenSource
        : _token is { } token && !token.Accepts(authorization) ? AdminRefusal.BadToken
        : null;
}
