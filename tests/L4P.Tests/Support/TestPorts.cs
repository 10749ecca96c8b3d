using System.Net;
using System.Net.Sockets;

namespace L4P.Tests.Support;

public static class TestPorts
{
    // Below the kernel's ephemeral range (32768-60999 by default), so no client socket of a
    // parallel test can take a port between our pick and the proxy's bind.
    private const int First = 20000, Last = 32000;
    private static int _next = First + Random.Shared.Next(Last - First);

    /// <summary>A loopback port nothing listens on now, unique within this test run.</summary>
    public static int Free()
    {
        for (var attempt = 0; attempt < Last - First; attempt++)
        {
            var port = First + (int)((uint)Interlocked.Increment(ref _next) % (uint)(Last - First));
            try
            {
                using var l = new TcpListener(IPAddress.Loopback, port);
                l.Start();
                return port;
            }
            catch (SocketException)
            {
                // in use: try the next one
            }
        }
        throw new InvalidOperationException("no free loopback port");
    }

    /// <summary>A loopback port that refuses connections (nothing listens there).</summary>
    public static int Closed() => Free();
}
