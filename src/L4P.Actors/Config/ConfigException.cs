namespace L4P.Config;

/// <summary>
/// A config problem, already phrased as the one line an operator reads:
/// <c>FILE:LINE:COL: key.path: problem</c>.
/// </summary>
public sealed class ConfigException(string message) : Exception(message);
