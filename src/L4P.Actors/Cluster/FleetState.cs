namespace L4P.Cluster;

/// <summary>Where this node stands with the cluster, as <c>/cluster</c>, the status page and <c>l4p_cluster_detached</c> show it.</summary>
public enum FleetState
{
    /// <summary>The fleet is starting and has not been a member yet (the first join).</summary>
    Joining,

    /// <summary>A member with status up.</summary>
    Up,

    /// <summary>Downed, removed or cut off: proxying on with the local view, rejoining by itself.</summary>
    Detached,

    /// <summary>Leaving for good (the host is stopping).</summary>
    Leaving,
}

public static class FleetStates
{
    /// <summary>The state's stable label in JSON and on the status page.</summary>
    public static string Label(this FleetState state) => state switch
    {
        FleetState.Joining => "joining",
        FleetState.Up => "up",
        FleetState.Detached => "detached",
        FleetState.Leaving => "leaving",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, "unknown fleet state"),
    };
}
