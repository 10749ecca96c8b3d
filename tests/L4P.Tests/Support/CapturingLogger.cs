using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace L4P.Tests.Support;

/// <summary>Collects formatted log lines so tests can assert on what an operator would read.</summary>
public sealed class CapturingLoggerProvider(Action<string>? echo = null) : ILoggerProvider
{
    public ConcurrentQueue<string> Lines { get; } = new();

    private void Write(string line)
    {
        Lines.Enqueue(line);
        try { echo?.Invoke(line); } catch (InvalidOperationException) { /* the test has finished */ }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose() { }

    private sealed class Logger(CapturingLoggerProvider owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var line = $"{logLevel}: {category}: {formatter(state, exception)}";
            owner.Write(line);
        }
    }
}
