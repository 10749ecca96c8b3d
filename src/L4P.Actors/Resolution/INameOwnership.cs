namespace L4P.Resolution;

/// <summary>
/// Which names this node keeps fresh. Every node looks every name up once at start (so it can serve at
/// once, cluster or not); after that only the owner repeats the lookups and the others hear its changes.
/// </summary>
public interface INameOwnership
{
    bool Owns(BackendKey key);

    /// <summary>Standalone: this node owns every name.</summary>
    public static readonly INameOwnership All = new Everything();

    private sealed class Everything : INameOwnership
    {
        public bool Owns(BackendKey key) => true;
    }
}
