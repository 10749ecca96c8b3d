using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace L4P.Tests.Support;

/// <summary>A Debian-packaged server (nginx, HAProxy) run in the foreground from a config the test writes.</summary>
public sealed class ExternalServer : IDisposable
{
    private readonly Process _process;
    public string Dir { get; } = Directory.CreateTempSubdirectory("l4p-ext-").FullName;

    private ExternalServer(string file, Func<string, string> args, Func<string, string> config, int waitPort)
    {
        var path = Path.Combine(Dir, "server.conf");
        File.WriteAllText(path, config(Dir) + "\n"); // HAProxy refuses a last line without LF
        _process = Process.Start(new ProcessStartInfo(file, args(path))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException($"cannot start {file}");
        var errors = new System.Text.StringBuilder();
        _process.OutputDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { lock (errors) errors.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (true)
        {
            if (_process.HasExited)
            {
                _process.WaitForExit();
                lock (errors) throw new InvalidOperationException($"{file} exited with {_process.ExitCode}: {errors}");
            }
            try
            {
                using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                s.Connect(new IPEndPoint(IPAddress.Loopback, waitPort));
                return;
            }
            catch (SocketException) when (DateTime.UtcNow < deadline) { Thread.Sleep(50); }
        }
    }

    /// <summary>nginx with an <c>http { }</c> block body given by the test.</summary>
    public static ExternalServer Nginx(string httpBody, int waitPort) => new("nginx", p => $"-c {p} -e stderr", dir => $$"""
        worker_processes 1;
        daemon off;
        pid {{dir}}/nginx.pid;
        error_log stderr error;
        events { worker_connections 256; }
        http {
          access_log off;
          client_body_temp_path {{dir}}/body;
          proxy_temp_path {{dir}}/proxy;
          fastcgi_temp_path {{dir}}/fastcgi;
          uwsgi_temp_path {{dir}}/uwsgi;
          scgi_temp_path {{dir}}/scgi;
          {{httpBody}}
        }
        """, waitPort);

    public static ExternalServer Haproxy(string config, int waitPort) => new("haproxy", p => $"-f {p} -db", _ => config, waitPort);

    public void Dispose()
    {
        // nginx forks workers: take the whole tree down, or they outlive the test holding the port.
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.WaitForExit(5000);
        _process.Dispose();
        Directory.Delete(Dir, true);
    }
}
