using System.Diagnostics;
using System.Net;

namespace L4P.Tests.Support;

/// <summary>
/// A real dnsmasq (Debian's dnsmasq-base) on a loopback port serving names from a hosts file the test
/// rewrites; <see cref="Set"/> rewrites it and sends SIGHUP so dnsmasq re-reads it.
/// </summary>
public sealed class Dnsmasq : IDisposable
{
    private readonly Process _process;
    private readonly string _hosts = Path.Combine(Path.GetTempPath(), $"l4p-hosts-{Guid.NewGuid():N}");

    public IPEndPoint Endpoint { get; }

    public Dnsmasq(string hostsContent)
    {
        File.WriteAllText(_hosts, hostsContent);
        Endpoint = new IPEndPoint(IPAddress.Loopback, TestPorts.Free());
        _process = Process.Start(new ProcessStartInfo("dnsmasq",
            $"--keep-in-foreground --no-resolv --no-hosts --addn-hosts={_hosts} --port={Endpoint.Port} " +
            "--listen-address=127.0.0.1 --bind-interfaces --local-ttl=1 --user=root --log-facility=- --pid-file=")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("cannot start dnsmasq");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitAnswering();
    }

    private void WaitAnswering()
    {
        var client = new DnsClient.LookupClient(new DnsClient.LookupClientOptions(Endpoint) { UseCache = false, Timeout = TimeSpan.FromMilliseconds(200), Retries = 0 });
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited) throw new InvalidOperationException($"dnsmasq exited with {_process.ExitCode}");
            try
            {
                client.Query("localhost.invalid", DnsClient.QueryType.A);
                return;
            }
            catch (DnsClient.DnsResponseException) { Thread.Sleep(50); }
        }
        throw new TimeoutException("dnsmasq did not answer");
    }

    public void Set(string hostsContent)
    {
        File.WriteAllText(_hosts, hostsContent);
        HostProcess.SendSignal(_process.Id, 1); // SIGHUP: re-read the hosts file
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.WaitForExit(5000);
        _process.Dispose();
        File.Delete(_hosts);
    }
}
