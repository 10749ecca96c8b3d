namespace L4P.Config;

/// <summary>RFC 9110 token characters, for header names.</summary>
public static class HttpToken
{
    public static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s)
            if (!(char.IsAsciiLetterOrDigit(c) || "!#$%&'*+-.^_`|~".Contains(c))) return false;
        return true;
    }
}
