// Broker.Spiffe — SPIFFE for .NET.

using Broker.Spiffe.WorkloadApi;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.Testing.WorkloadApi;

/// <summary>
/// A faithful SPIFFE Workload API on a real Unix socket: Kestrel, HTTP/2 cleartext, the real proto.
/// Start with <see cref="StartAsync"/>; drive it through <see cref="State"/>; <see cref="RestartAsync"/> kills
/// every stream and the socket, then listens again on the same path (an agent restart).
/// </summary>
public sealed class FakeWorkloadApiServer : IAsyncDisposable
{
    private readonly string _directory;
    private WebApplication? _app;

    private FakeWorkloadApiServer(FakeWorkloadApiState state)
    {
        State = state;
        // Short path: Unix socket paths are limited to 108 bytes.
        _directory = Path.Combine(Path.GetTempPath(), "wapi-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(_directory);
        SocketPath = Path.Combine(_directory, "api.sock");
    }

    public FakeWorkloadApiState State { get; }

    public string SocketPath { get; }

    /// <summary>The address to give the client: <c>unix:///…/api.sock</c>.</summary>
    public WorkloadApiAddress Address => WorkloadApiAddress.Parse("unix://" + SocketPath);

    public static async Task<FakeWorkloadApiServer> StartAsync(FakeWorkloadApiState? state = null)
    {
        var server = new FakeWorkloadApiServer(state ?? new FakeWorkloadApiState());
        await server.ListenAsync();
        return server;
    }

    /// <summary>Kills every stream and closes the socket; the client sees the agent disappear.</summary>
    public async Task StopAsync()
    {
        if (_app is null)
        {
            return;
        }

        State.AbortStreams();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
        _app = null;
        File.Delete(SocketPath);
    }

    /// <summary>Listens again on the same socket path.</summary>
    public Task ListenAsync()
    {
        if (_app is not null)
        {
            return Task.CompletedTask;
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.ListenUnixSocket(SocketPath, l => l.Protocols = HttpProtocols.Http2));
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(State);
        var app = builder.Build();
        app.MapGrpcService<FakeWorkloadApiService>();
        _app = app;
        return app.StartAsync();
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await ListenAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp directory left behind is harmless.
        }
    }
}
