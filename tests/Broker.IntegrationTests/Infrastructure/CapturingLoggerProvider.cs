using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>Keeps every log entry of the broker under test, for assertions on what was (not) logged.</summary>
public sealed class CapturingLoggerProvider : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => _entries;

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, _entries);

    public void Dispose()
    {
    }

    /// <summary>One log call: its formatted message and, for structured state, each named field (the template excluded).</summary>
    public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message)
    {
        public IReadOnlyDictionary<string, object?> Properties { get; init; } = new Dictionary<string, object?>();
    }

    private sealed class Logger(string category, ConcurrentQueue<LogEntry> entries) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception))
            {
                Properties = state is IEnumerable<KeyValuePair<string, object?>> fields
                    ? fields.Where(f => f.Key != "{OriginalFormat}").ToDictionary(f => f.Key, f => f.Value)
                    : new Dictionary<string, object?>(),
            });
    }
}
