using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Broker.Audit;

/// <summary>
/// Appends each audit event as one JSON line (docs/audit.md) to a file or standard output, for log shippers that
/// should not have to parse log messages. A copy: the store and the log have every event whether or not a sink runs.
/// </summary>
/// <remarks>
/// Lines are written under a lock into a buffer and flushed every <see cref="AuditOptions.FlushInterval"/> and at
/// shutdown, so an exchange never waits on the disk; a crash loses at most one interval of the copy. The file is
/// opened for appending and never truncated: rotate it with <c>copytruncate</c>.
/// </remarks>
internal sealed class AuditFileSink : IHostedService, IAsyncDisposable
{
    /// <summary>The <see cref="AuditOptions.File"/> value that means standard output.</summary>
    public const string StandardOutput = "-";

    private static readonly byte[] NewLine = "\n"u8.ToArray();

    private readonly Lock _lock = new();
    private readonly AuditOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _timeProvider;
    private Stream? _stream;
    private ITimer? _flushTimer;
    private bool _failed;

    public AuditFileSink(IOptions<AuditOptions> options, ILogger<AuditFileSink> logger, TimeProvider timeProvider)
    {
        _options = options.Value;
        _logger = logger;
        _timeProvider = timeProvider;
    }

    /// <summary>True when a file or standard output is configured.</summary>
    public bool Enabled => !string.IsNullOrEmpty(_options.File);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (!Enabled)
        {
            return Task.CompletedTask;
        }

        // Opened at start, so a path that cannot be written stops the broker instead of failing on the first event.
        var stream = _options.File == StandardOutput
            ? Console.OpenStandardOutput()
            : new FileStream(_options.File!, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, bufferSize: 1);
        lock (_lock)
        {
            _stream = new BufferedStream(stream, 64 * 1024);
        }

        _flushTimer = _timeProvider.CreateTimer(_ => Flush(), null, _options.FlushInterval, _options.FlushInterval);
        Log.AuditSinkOpened(_logger, _options.File == StandardOutput ? "standard output" : Path.GetFullPath(_options.File!));
        return Task.CompletedTask;
    }

    /// <summary>Appends one event; never throws (a failing disk is logged once and the copy stops).</summary>
    public void Write(AuditEvent auditEvent)
    {
        if (_stream is null)
        {
            return;
        }

        var line = JsonSerializer.SerializeToUtf8Bytes(auditEvent, AuditJsonContext.Default.AuditEvent);
        lock (_lock)
        {
            if (_stream is null || _failed)
            {
                return;
            }

            try
            {
                _stream.Write(line);
                _stream.Write(NewLine);
            }
            catch (IOException ex)
            {
                Fail(ex);
            }
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken) => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (_flushTimer is { } timer)
        {
            await timer.DisposeAsync();
        }

        lock (_lock)
        {
            FlushLocked();
            if (_options.File != StandardOutput)
            {
                _stream?.Dispose();
            }

            _stream = null;
        }
    }

    private void Flush()
    {
        lock (_lock)
        {
            FlushLocked();
        }
    }

    private void FlushLocked()
    {
        if (_stream is null || _failed)
        {
            return;
        }

        try
        {
            _stream.Flush();
        }
        catch (IOException ex)
        {
            Fail(ex);
        }
    }

    private void Fail(IOException ex)
    {
        _failed = true;
        Log.AuditSinkFailed(_logger, ex.GetType().Name, ex.HResult);
    }
}
