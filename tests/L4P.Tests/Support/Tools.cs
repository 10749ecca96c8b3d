using System.Diagnostics;

namespace L4P.Tests.Support;

/// <summary>Runs a command-line tool the way a user would (curl, openssl, ...), bounded in time.</summary>
public static class Tools
{
    public static async Task<(int Code, string Stdout, string Stderr)> RunAsync(string file, string args, TimeSpan? timeout = null, string? stdin = null)
    {
        var psi = new ProcessStartInfo(file, args)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"cannot start {file}");
        if (stdin is not null) await p.StandardInput.WriteAsync(stdin);
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(30));
        try { await p.WaitForExitAsync(cts.Token); }
        catch (OperationCanceledException) { p.Kill(true); throw new TimeoutException($"{file} {args} did not finish"); }
        return (p.ExitCode, await stdout, await stderr);
    }
}
