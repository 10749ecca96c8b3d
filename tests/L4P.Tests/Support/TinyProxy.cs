using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace L4P.Tests.Support;

/// <summary>A real tinyproxy (Debian package) on loopback, as the upstream HTTP CONNECT proxy.</summary>
public sealed class TinyProxy : IDisposable
{
    private readonly Process _process;
    private readonly string _configPath;

    public IPEndPoint Endpoint { get; }

    public TinyProxy(int connectPort, string user = "user", string password = "pass")
    {
        var port = TestPorts.Free();
        Endpoint = new IPEndPoint(IPAddress.Loopback, port);
        _configPath = Path.Combine(Path.GetTempPath(), $"tinyproxy-{Guid.NewGuid():N}.conf");
        File.WriteAllText(_configPath, $"""
            Port {port}
            Listen 127.0.0.1
            Timeout 30
            Allow 127.0.0.1
            BasicAuth {user} {password}
            ConnectPort {connectPort}
            LogLevel Info
            MaxClients 50

            """);
        _process = Process.Start(new ProcessStartInfo("tinyproxy", $"-d -c {_configPath}")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("cannot start tinyproxy");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitListening();
    }

    private void WaitListening()
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"tinyproxy exited with {_process.ExitCode}");
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(Endpoint);
                return;
            }
            catch (SocketException) { Thread.Sleep(50); }
        }
        throw new TimeoutException("tinyproxy did not start listening");
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
        File.Delete(_configPath);
    }
}
