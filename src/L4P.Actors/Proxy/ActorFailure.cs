namespace L4P.Proxy;

/// <summary>
/// What a supervisor logs for a child's failure: the innermost exception. Akka wraps a failure in a
/// constructor or PreStart (ActorInitializationException, then TypeLoadException and
/// TargetInvocationException for reflective Props) around the cause a reader needs.
/// </summary>
internal static class ActorFailure
{
    public static Exception Cause(Exception e) => e.GetBaseException();

    /// <summary>"Type: message" of the cause, for a one-line log or reload problem.</summary>
    public static string Describe(Exception e)
    {
        var cause = Cause(e);
        return $"{cause.GetType().Name}: {cause.Message}";
    }
}
