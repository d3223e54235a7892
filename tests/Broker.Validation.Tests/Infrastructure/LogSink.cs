using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>One log entry with its structured fields.</summary>
public sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, IReadOnlyDictionary<string, object?> Fields);

/// <summary>Captures every log entry of a host, with its structured state, for assertions.</summary>
public sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyCollection<LogEntry> Entries => [.. _entries];

    public IEnumerable<LogEntry> WithEvent(string eventName) => Entries.Where(e => e.EventId.Name == eventName);

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, LogSink sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var fields = state is IEnumerable<KeyValuePair<string, object?>> pairs
                ? pairs.GroupBy(p => p.Key).ToDictionary(g => g.Key, g => g.Last().Value)
                : new Dictionary<string, object?>();
            var message = formatter(state, exception) + (exception is null ? "" : " " + exception);
            sink._entries.Enqueue(new LogEntry(category, logLevel, eventId, message, fields));
        }
    }
}
