using Microsoft.Extensions.Logging;

namespace L4P.Testing;

/// <summary>
/// The proxy's log lines as the executable's text format writes them (<c>info: L4P.Connections[1] conn ...</c>),
/// at the config's <c>log</c> level, kept in order so a test can wait for the next line that matches.
/// </summary>
internal sealed class LogCapture(LogLevel minimum) : ILoggerProvider
{
    private readonly List<string> _lines = [];
    private readonly LogLevel _minimum = minimum;

    public IReadOnlyList<string> Snapshot()
    {
        lock (_lines) return [.. _lines];
    }

    /// <summary>The first line at or after <paramref name="cursor"/> that matches, waiting up to <paramref name="timeout"/>; moves the cursor past it.</summary>
    public string? WaitFor(Func<string, bool> match, ref int cursor, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        lock (_lines)
        {
            while (true)
            {
                for (; cursor < _lines.Count; cursor++)
                    if (match(_lines[cursor])) return _lines[cursor++];
                var left = deadline - DateTime.UtcNow;
                if (left <= TimeSpan.Zero) return null;
                Monitor.Wait(_lines, left);
            }
        }
    }

    private void Add(string line)
    {
        lock (_lines)
        {
            _lines.Add(line);
            Monitor.PulseAll(_lines);
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private static string Short(LogLevel level) => level switch
    {
        LogLevel.Trace => "trce",
        LogLevel.Debug => "dbug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warn",
        LogLevel.Error => "fail",
        _ => "crit",
    };

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None && logLevel >= owner._minimum;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel)) return;
            var line = $"{Short(logLevel)}: {category}[{eventId.Id}] {formatter(state, exception)}";
            owner.Add(exception is null ? line : $"{line} {exception.GetType().Name}: {exception.Message}");
        }
    }

}
