using System.Net;
using System.Net.Sockets;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// A loopback TCP relay in front of a server, which a test can cut: open connections are dropped and new ones are
/// closed as soon as they are accepted (a network partition, as a client sees it), until <see cref="Restore"/>.
/// </summary>
public sealed class TcpRelay : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly HashSet<TcpClient> _open = [];
    private readonly Task _accepting;
    private volatile bool _cut;

    private TcpRelay()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    /// <summary>The port the relay listens on.</summary>
    public int Port { get; }

    /// <summary>The loopback port connections are relayed to; set before the first connection.</summary>
    public int TargetPort { get; set; }

    public static TcpRelay Start() => new();

    /// <summary>Drops every open connection and refuses new ones.</summary>
    public void Cut()
    {
        _cut = true;
        lock (_open)
        {
            foreach (var client in _open)
            {
                client.Dispose();
            }

            _open.Clear();
        }
    }

    public void Restore() => _cut = false;

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Cut();
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

            if (_cut)
            {
                client.Dispose();
                continue;
            }

            _ = RelayAsync(client);
        }
    }

    private async Task RelayAsync(TcpClient client)
    {
        var upstream = new TcpClient();
        lock (_open)
        {
            _open.Add(client);
            _open.Add(upstream);
        }

        try
        {
            await upstream.ConnectAsync(IPAddress.Loopback, TargetPort, _stop.Token);
            var downstream = client.GetStream();
            var up = upstream.GetStream();
            await Task.WhenAny(downstream.CopyToAsync(up, _stop.Token), up.CopyToAsync(downstream, _stop.Token));
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
        {
            // The connection ended (or was cut): nothing to relay any more.
        }
        finally
        {
            lock (_open)
            {
                _open.Remove(client);
                _open.Remove(upstream);
            }

            client.Dispose();
            upstream.Dispose();
        }
    }
}
