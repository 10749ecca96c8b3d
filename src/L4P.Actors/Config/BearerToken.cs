using System.Security.Cryptography;
using System.Text;

namespace L4P.Config;

/// <summary>
/// A secret a client must present as <c>Authorization: Bearer &lt;token&gt;</c> (<c>admin_token</c>). Only
/// its SHA-256 is kept, so the secret is in no record's <c>ToString</c>, log line or dump; comparing digests
/// in constant time also hides the secret's length, which comparing the bytes themselves would not.
/// </summary>
public sealed class BearerToken : IEquatable<BearerToken>
{
    private readonly byte[] _digest;

    public BearerToken(string secret) => _digest = SHA256.HashData(Encoding.UTF8.GetBytes(secret));

    /// <summary>
    /// True when <paramref name="authorization"/> (an <c>Authorization</c> header value, null when absent) is
    /// <c>Bearer</c> (any case, RFC 9110 section 11.1) followed by the secret.
    /// </summary>
    public bool Accepts(string? authorization)
    {
        if (authorization is null) return false;
        var value = authorization.AsSpan().Trim();
        var space = value.IndexOf(' ');
        if (space < 0 || !value[..space].Equals("Bearer", StringComparison.OrdinalIgnoreCase)) return false;
        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value[(space + 1)..].TrimStart(' ').ToString()));
        return CryptographicOperations.FixedTimeEquals(presented, _digest);
    }

    /// <summary>
    /// Why <paramref name="secret"/> cannot be a bearer token (RFC 6750's token68: visible ASCII without
    /// spaces, so a client can send it as written), or null when it can.
    /// </summary>
    public static string? Problem(string secret)
    {
        if (secret.Length == 0) return "is empty: give a secret, e.g. admin_token: ${L4P_ADMIN_TOKEN}";
        foreach (var c in secret)
            if (c is < '!' or > '~') return "may hold visible ASCII only (no spaces or control characters), as a Bearer token";
        return null;
    }

    public bool Equals(BearerToken? other) => other is not null && _digest.AsSpan().SequenceEqual(other._digest);

    public override bool Equals(object? obj) => Equals(obj as BearerToken);

    public override int GetHashCode() => BitConverter.ToInt32(_digest, 0);

    /// <summary>Never the secret: records print their members.</summary>
    public override string ToString() => "(secret)";
}
