using System.Net;
using System.Net.Sockets;

namespace L4P.Tests.Support;

public static class TestPorts
{
    /// <summary>A port the kernel just handed out on loopback; free again when this returns.</summary>
    public static int Free()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>A loopback port that refuses connections (nothing listens there).</summary>
    public static int Closed() => Free();
}
