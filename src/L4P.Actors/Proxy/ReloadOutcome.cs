namespace L4P.Proxy;

/// <summary>How a reload ended; <see cref="ReloadOutcomes.Label"/> is its stable word in logs and <c>l4p_config_reloads_total</c>.</summary>
public enum ReloadOutcome
{
    /// <summary>The new config runs: new connections use it, live ones keep theirs (label <c>ok</c>).</summary>
    Applied,

    /// <summary>The new config runs, but some of its new listen addresses could not be bound (<c>bind_failed</c>).</summary>
    BindFailed,

    /// <summary>The file was not a valid config; the running one stays (<c>invalid</c>).</summary>
    Invalid,

    /// <summary>Another reload or a shutdown was in progress; nothing changed (<c>busy</c>).</summary>
    Busy,

    /// <summary>The new generation did not become ready within the reload deadline and was abandoned; the running config stays (<c>timeout</c>).</summary>
    Timeout,

    /// <summary>An actor of the new generation (its router) failed to start; the running config stays, and the problem names the exception (<c>failed</c>).</summary>
    Failed,

    /// <summary>A shutdown began before the reload finished: the new generation was abandoned (<c>cancelled</c>).</summary>
    Cancelled,
}

public static class ReloadOutcomes
{
    public static string Label(this ReloadOutcome outcome) => outcome switch
    {
        ReloadOutcome.Applied => "ok",
        ReloadOutcome.BindFailed => "bind_failed",
        ReloadOutcome.Invalid => "invalid",
        ReloadOutcome.Busy => "busy",
        ReloadOutcome.Failed => "failed",
        ReloadOutcome.Cancelled => "cancelled",
        _ => "timeout",
    };
}
