using Akka.Cluster;

namespace L4P.Cluster;

/// <summary>
/// The cluster's members as this actor's own subscription has told it. <c>Cluster.State</c> is kept by
/// another subscriber and may not have seen the event being handled yet: a limiter that read it on a
/// MemberUp could still count one member and hand this node the whole headroom.
/// </summary>
internal sealed class MemberSet
{
    private readonly Dictionary<string, Member> _members = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unreachable = new(StringComparer.Ordinal);

    /// <summary>Folds in a cluster event; false for anything else.</summary>
    public bool Apply(object message)
    {
        switch (message)
        {
            case ClusterEvent.CurrentClusterState state:
                _members.Clear();
                _unreachable.Clear();
                foreach (var m in state.Members) _members[m.Address.ToString()] = m;
                foreach (var m in state.Unreachable) _unreachable.Add(m.Address.ToString());
                return true;
            case ClusterEvent.MemberRemoved removed:
                _members.Remove(removed.Member.Address.ToString());
                _unreachable.Remove(removed.Member.Address.ToString());
                return true;
            case ClusterEvent.IMemberEvent e:
                _members[e.Member.Address.ToString()] = e.Member;
                return true;
            case ClusterEvent.UnreachableMember u:
                _unreachable.Add(u.Member.Address.ToString());
                return true;
            case ClusterEvent.ReachableMember r:
                _unreachable.Remove(r.Member.Address.ToString());
                return true;
            default:
                return false;
        }
    }

    public IEnumerable<Member> Members => _members.Values;

    public bool IsUnreachable(Member m) => _unreachable.Contains(m.Address.ToString());

    /// <summary>Members that still count: not downed, not removed.</summary>
    public bool IsLive(string address) => _members.TryGetValue(address, out var m) && m.Status is not (MemberStatus.Removed or MemberStatus.Down);

    /// <summary>The member at <paramref name="address"/> is up (or weakly up) as this subscription saw it.</summary>
    public bool IsUp(string address) => _members.TryGetValue(address, out var m) && m.Status is MemberStatus.Up or MemberStatus.WeaklyUp;

    /// <summary>
    /// <paramref name="self"/> is up but reaches only a minority of the members that are up (itself
    /// included): the side keep-majority downs after <c>down_after</c>. Until then it works from its own
    /// view. Null when <paramref name="self"/> is not up (joining, downed, leaving): no news either way,
    /// so a node that was cut off stays so until its fleet incarnation ends.
    /// </summary>
    public bool? IsCutOff(string self)
    {
        if (!IsUp(self)) return null;
        var up = _members.Values.Where(m => m.Status is MemberStatus.Up or MemberStatus.WeaklyUp).ToList();
        var reachable = up.Count(m => !_unreachable.Contains(m.Address.ToString()));
        return reachable * 2 < up.Count;
    }

    public int UpCount => _members.Values.Count(m => m.Status == MemberStatus.Up);
}
