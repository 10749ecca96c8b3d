namespace L4P.Connections;

/// <summary>
/// What an actor's current state rented from a pool (a buffer), given back exactly once: when the state
/// is left, or in PostStop if the actor is stopped first. The connection actors enter every state through
/// it, so no path that leaves a state can forget the buffer.
/// </summary>
internal sealed class StateRental
{
    private Action? _release;

    /// <summary>The state being left gives back what it rented; <paramref name="release"/> is the next state's (or nothing).</summary>
    public void Replace(Action? release)
    {
        Release();
        _release = release;
    }

    /// <summary>Gives back what the current state rented, if anything (PostStop).</summary>
    public void Release()
    {
        var release = _release;
        _release = null;
        release?.Invoke();
    }
}
