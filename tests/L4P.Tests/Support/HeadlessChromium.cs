using System.Diagnostics;
using System.Net.Http.Json;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace L4P.Tests.Support;

/// <summary>
/// Debian's Chromium, headless, driven over the DevTools protocol (a WebSocket): navigate, evaluate
/// JavaScript in the page, set a phone viewport, take screenshots. Started with a fresh profile and
/// with background networking off (this machine has no network beyond loopback).
/// </summary>
public sealed class HeadlessChromium : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _profile;
    private readonly ClientWebSocket _ws = new();
    private int _id;

    private HeadlessChromium(Process process, string profile)
    {
        _process = process;
        _profile = profile;
    }

    public static async Task<HeadlessChromium> StartAsync()
    {
        var psi = new ProcessStartInfo("chromium")
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        var profile = Directory.CreateTempSubdirectory("l4p-chromium-").FullName;
        foreach (var a in new[] { "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                     "--disable-background-networking", "--disable-component-update", "--disable-sync",
                     $"--user-data-dir={profile}", "--remote-debugging-port=0", "about:blank" })
            psi.ArgumentList.Add(a);
        var process = Process.Start(psi) ?? throw new InvalidOperationException("cannot start chromium");
        var chromium = new HeadlessChromium(process, profile);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        string? line;
        while ((line = await process.StandardError.ReadLineAsync(cts.Token)) is not null)
        {
            const string marker = "DevTools listening on ";
            if (!line.StartsWith(marker, StringComparison.Ordinal)) continue;
            var port = new Uri(line[marker.Length..]).Port;
            _ = process.StandardError.ReadToEndAsync(); // keep draining
            using var http = new HttpClient();
            var targets = await http.GetFromJsonAsync<JsonArray>($"http://127.0.0.1:{port}/json/list", cts.Token);
            var page = targets!.First(t => (string?)t!["type"] == "page")!;
            await chromium._ws.ConnectAsync(new Uri((string)page["webSocketDebuggerUrl"]!), cts.Token);
            return chromium;
        }
        throw new InvalidOperationException("chromium printed no DevTools address");
    }

    public async Task<JsonNode?> SendAsync(string method, object? parameters = null)
    {
        var id = Interlocked.Increment(ref _id);
        var json = JsonSerializer.Serialize(new { id, method, @params = parameters ?? new { } });
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _ws.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, true, cts.Token);
        var buffer = new byte[1 << 20];
        while (true)
        {
            using var ms = new MemoryStream();
            WebSocketReceiveResult r;
            do
            {
                r = await _ws.ReceiveAsync(buffer, cts.Token);
                ms.Write(buffer, 0, r.Count);
            } while (!r.EndOfMessage);
            var msg = JsonNode.Parse(ms.ToArray())!;
            if ((int?)msg["id"] != id) continue; // an event
            if (msg["error"] is { } error) throw new InvalidOperationException($"{method}: {error.ToJsonString()}");
            return msg["result"];
        }
    }

    public async Task NavigateAsync(string url)
    {
        await SendAsync("Page.enable");
        await SendAsync("Page.navigate", new { url });
    }

    /// <summary>Evaluates a JavaScript expression in the page and returns its value as JSON.</summary>
    public async Task<JsonNode?> EvalAsync(string expression)
    {
        var result = await SendAsync("Runtime.evaluate", new { expression, returnByValue = true, awaitPromise = true });
        if (result?["exceptionDetails"] is { } ex) throw new InvalidOperationException($"page script failed: {ex.ToJsonString()}");
        return result?["result"]?["value"];
    }

    /// <summary>Polls an expression until it is true (bounded).</summary>
    public async Task WaitForAsync(string expression, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if ((await EvalAsync(expression))?.GetValue<bool>() == true) return;
            }
            catch (InvalidOperationException)
            {
                // The page may still be loading (no body yet): try again.
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"never true in the page: {expression}");
    }

    /// <summary>Blocks the page's own scripts (as a browser with JavaScript off); DevTools evaluation still works.</summary>
    public Task DisableScriptsAsync() => SendAsync("Emulation.setScriptExecutionDisabled", new { value = true });

    public Task ViewportAsync(int width, int height, bool mobile) =>
        SendAsync("Emulation.setDeviceMetricsOverride", new { width, height, deviceScaleFactor = mobile ? 2 : 1, mobile });

    public async Task ScreenshotAsync(string path)
    {
        var r = await SendAsync("Page.captureScreenshot", new { format = "png", captureBeyondViewport = true });
        await File.WriteAllBytesAsync(path, Convert.FromBase64String((string)r!["data"]!));
    }

    public async ValueTask DisposeAsync()
    {
        _ws.Dispose();
        if (!_process.HasExited) _process.Kill(entireProcessTree: true);
        await _process.WaitForExitAsync();
        _process.Dispose();
        try { Directory.Delete(_profile, true); } catch (IOException) { }
    }
}
