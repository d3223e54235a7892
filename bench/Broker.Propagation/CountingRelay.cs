using System.Net;
using System.Net.Sockets;

namespace Broker.Propagation;

/// <summary>
/// A loopback TCP relay in front of replica A, which every verifier reaches it through (the issuer's port), counting
/// connections and bytes each way. TLS passes through untouched. A verifier that called the broker while handling a
/// request would show as bytes sent upstream; the feed, once open, only reads.
/// </summary>
internal sealed class CountingRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private long _bytesUp;
    private long _bytesDown;
    private int _connections;

    private CountingRelay(int targetPort)
    {
        TargetPort = targetPort;
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public int TargetPort { get; }

    /// <summary>Bytes from the verifiers to the broker.</summary>
    public long BytesUp => Interlocked.Read(ref _bytesUp);

    /// <summary>Bytes from the broker to the verifiers.</summary>
    public long BytesDown => Interlocked.Read(ref _bytesDown);

    /// <summary>Connections accepted.</summary>
    public int Connections => Volatile.Read(ref _connections);

    public static CountingRelay Start(int targetPort) => new(targetPort);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            Interlocked.Increment(ref _connections);
            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        using var upstream = new TcpClient { NoDelay = true };
        client.NoDelay = true;
        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, TargetPort, _stop.Token);
            var down = client.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(PumpAsync(down, up, true), PumpAsync(up, down, false));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The connection ended: nothing to relay any more.
        }
        finally
        {
            client.Dispose();
        }
    }

    private async Task PumpAsync(NetworkStream from, NetworkStream to, bool upward)
    {
        var buffer = new byte[16 * 1024];
        int read;
        while ((read = await from.ReadAsync(buffer, _stop.Token)) > 0)
        {
            if (upward)
            {
                Interlocked.Add(ref _bytesUp, read);
            }
            else
            {
                Interlocked.Add(ref _bytesDown, read);
            }

            await to.WriteAsync(buffer.AsMemory(0, read), _stop.Token);
        }
    }
}
