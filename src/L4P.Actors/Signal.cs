namespace L4P;

/// <summary>
/// A message that carries nothing (a timer's tick, a request, a reply that only says "done"): one
/// shared instance per type, as Akka.IO's own <c>ResumeReading.Instance</c>. Declared in one line,
/// <c>sealed record Tick : Signal&lt;Tick&gt;;</c>, and matched by type.
/// </summary>
public abstract record Signal<T> where T : Signal<T>, new()
{
    public static readonly T Instance = new();
}
