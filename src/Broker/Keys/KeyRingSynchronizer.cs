using System.Diagnostics;
using System.Security.Cryptography;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.Keys;

/// <summary>
/// Keeps this replica's copy of the shared ring current and runs the rotation schedule: at start, checks that the
/// configured certificate is the one the ring was encrypted to, reads the ring (creating its first key when it is
/// empty) and decrypts the signing key; then reads the ring again on every change announcement and every
/// <see cref="KeyRotationOptions.PollInterval"/>, making the changes the schedule calls for when it gets the lease.
/// </summary>
/// <remarks>
/// A configuration that cannot work (the wrong certificate, keys that do not decrypt) stops the start with a message
/// that says so. Redis being down does not: the replica starts without a signing key, is not ready, refuses to issue
/// (fail closed), and keeps trying, as the grant store does.
/// </remarks>
internal sealed class KeyRingSynchronizer(
    SharedKeyRing ring,
    KeyEncryptionCheck encryption,
    IOptions<KeysOptions> options,
    TimeProvider timeProvider,
    ILogger<KeyRingSynchronizer> logger) : BackgroundService
{
    private readonly SemaphoreSlim _changed = new(0, 1);
    private bool _subscribed;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await encryption.CheckAsync(cancellationToken);
            await SubscribeAsync(cancellationToken);
            await WaitForActiveKeyAsync(cancellationToken);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            Log.KeyRingUnavailableAtStart(logger, ex);
        }

        try
        {
            ring.EnsureSigningKeys();
        }
        catch (CryptographicException)
        {
            throw new InvalidOperationException(KeyEncryptionCheck.UndecryptableMessage);
        }

        if (options.Value.SigningKeyFiles.Count > 0 && ring.Statuses.Any(s => s.Key.Origin == KeyOrigins.Generated))
        {
            Log.KeyFilesIgnored(logger, options.Value.SigningKeyFiles.Count);
        }

        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            await WaitForChangeOrPollAsync(stoppingToken);
            try
            {
                await SubscribeAsync(stoppingToken);
                await ring.RunScheduleAsync(stoppingToken);
                ring.EnsureSigningKeys();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException)
            {
                Log.KeyRingUnavailable(logger, ex);
            }
            catch (CryptographicException)
            {
                // Logged per key by the ring; the replica keeps signing with what it has, or nothing.
            }
        }
    }

    public override void Dispose()
    {
        _changed.Dispose();
        base.Dispose();
    }

    private async Task SubscribeAsync(CancellationToken cancellationToken)
    {
        if (!_subscribed)
        {
            await ring.SubscribeAsync(Signal, cancellationToken);
            _subscribed = true;
        }
    }

    private async Task WaitForActiveKeyAsync(CancellationToken cancellationToken)
    {
        // Another replica may be creating the first key under the lease: wait for it, at most the lease's life.
        var deadline = options.Value.Rotation.LeaseDuration + TimeSpan.FromSeconds(5);
        var waited = Stopwatch.StartNew();
        while (true)
        {
            await ring.RunScheduleAsync(cancellationToken);
            if (ring.Statuses.Any(s => s.State == KeyState.Active))
            {
                return;
            }

            if (waited.Elapsed > deadline)
            {
                throw new InvalidOperationException($"The key ring in Redis has no active key, and none was created within {deadline.TotalSeconds:0} s.");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(200), cancellationToken);
        }
    }

    private void Signal()
    {
        try
        {
            _changed.Release();
        }
        catch (SemaphoreFullException)
        {
            // A change is already signalled: one read covers both.
        }
        catch (ObjectDisposedException)
        {
            // Stopping.
        }
    }

    private async Task WaitForChangeOrPollAsync(CancellationToken stoppingToken)
    {
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var poll = Task.Delay(options.Value.Rotation.PollInterval, timeProvider, wait.Token);
        var change = _changed.WaitAsync(wait.Token);
        await Task.WhenAny(poll, change);
        await wait.CancelAsync();
        await Task.WhenAll(poll, change).ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }
}
