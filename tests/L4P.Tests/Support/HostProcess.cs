using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;

namespace L4P.Tests.Support;

/// <summary>The real executable (L4P.Host.dll, built next to the tests) as a child process.</summary>
public sealed partial class HostProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    /// <summary>
    /// Starts <c>dotnet L4P.Host.dll ARGS</c>, or with a prefix command that runs it, e.g.
    /// <c>["prlimit", "--nofile=640"]</c> (it must exec it, so that <see cref="Pid"/> is L4P's).
    /// </summary>
    public HostProcess(string args, IDictionary<string, string>? env = null, string? workingDirectory = null, IReadOnlyList<string>? prefix = null)
    {
        var command = $"dotnet \"{Path.Combine(AppContext.BaseDirectory, "L4P.Host.dll")}\" {args}";
        var psi = new ProcessStartInfo(prefix is { Count: > 0 } ? prefix[0] : "dotnet",
            prefix is { Count: > 0 } ? string.Join(' ', prefix.Skip(1).Select(a => $"\"{a}\"").Append(command)) : command["dotnet ".Length..])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? AppContext.BaseDirectory,
        };
        psi.Environment.Remove("L4P_CONFIG");
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) psi.Environment[k] = v;
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_stdout) _stdout.AppendLine(e.Data); };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_stderr) _stderr.AppendLine(e.Data); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public string Stdout { get { lock (_stdout) return _stdout.ToString(); } }
    public string Stderr { get { lock (_stderr) return _stderr.ToString(); } }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
        _process.WaitForExit(); // flush the async readers
        return _process.ExitCode;
    }

    public async Task WaitForOutputAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!Stdout.Contains(text) && !Stderr.Contains(text))
        {
            if (_process.HasExited) throw new InvalidOperationException($"exited {_process.ExitCode} before printing '{text}':\n{Stdout}\n{Stderr}");
            if (DateTime.UtcNow > deadline) throw new TimeoutException($"no '{text}' in output:\n{Stdout}\n{Stderr}");
            await Task.Delay(50);
        }
    }

    public void Signal(int signal) => SendSignal(_process.Id, signal);

    public static void SendSignal(int pid, int signal) => _ = Kill(pid, signal);

    public const int SIGTERM = 15;
    public const int SIGINT = 2;
    public const int SIGHUP = 1;

    /// <summary>Linux's numbers: freeze a process (a GC pause, a stalled VM) and thaw it.</summary>
    public const int SIGSTOP = 19;
    public const int SIGCONT = 18;

    [LibraryImport("libc", EntryPoint = "kill")]
    private static partial int Kill(int pid, int sig);

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        _process.Dispose();
    }
}
