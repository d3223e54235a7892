using System.Collections.Concurrent;
using System.ComponentModel;
using System.Reflection;
using Broker.Testing;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// samples/typescript-server, compiled with its own <c>tsc</c> and run as a <c>node</c> process, against the real
/// broker (in process, dev identity source, <see cref="TestBroker.Policy"/>) reached through a <see cref="TcpRelay"/>,
/// so that a test can cut the server off from the broker, and from its revocation feed. One of each per test class.
/// </summary>
public sealed class TypeScriptServerFixture : IAsyncLifetime
{
    /// <summary>The MCP server's own workload identity: what it subscribes to the revocation feed as.</summary>
    public const string Identity = "spiffe://dev.localhost/mcp/files";

    /// <summary>The dev admin this broker names a global admin.</summary>
    public const string Admin = "spiffe://dev.localhost/admin";

    /// <summary>The server's staleness rule: the broker heartbeats every second, so only a cut feed trips it.</summary>
    public const int MaxStalenessSeconds = 6;

    /// <summary>How many revocations of a tenant the broker keeps for feeds to resume from.</summary>
    public const int RevocationHistory = 100;

    private readonly int _port = FreePorts.Next();

    public TcpRelay Relay { get; private set; } = null!;

    public TestBroker Broker { get; private set; } = null!;

    public TestProcess Server { get; private set; } = null!;

    /// <summary>Every token the tests presented: none may appear in the server's output, checked once it has exited.</summary>
    public ConcurrentBag<string> Presented { get; } = [];

    public Uri BaseAddress => new($"http://127.0.0.1:{_port}");

    public Uri Endpoint => new(BaseAddress, "/mcp");

    public static string SampleDirectory => Path.GetFullPath(typeof(TypeScriptServerFixture).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "TypeScriptServerDirectory").Value!);

    public async ValueTask InitializeAsync()
    {
        var directory = SampleDirectory;
        if (!Directory.Exists(Path.Combine(directory, "node_modules")))
        {
            throw new InvalidOperationException($"samples/typescript-server has no node_modules: run `npm ci` in {directory} (Node.js 20 or later), then run these tests again.");
        }

        Relay = TcpRelay.Start();
        Broker = await TestBroker.StartAsync(Relay.Port, new Dictionary<string, string?>
        {
            ["Broker:Revocation:FeedHeartbeat"] = "00:00:01",
            ["Broker:Admin:GlobalAdmins:0"] = Admin,

            // The shortest revocation history the broker keeps, so that a test can outrun it while the server is away.
            ["Broker:Grants:RevocationStreamMaxLength"] = RevocationHistory.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Broker:RateLimits:PerIdentity"] = "100000/s",
        });
        Relay.TargetPort = Broker.ListenAddress.Port;

        // The sources as they are now, type-checked: a stale dist/ must not pass for the sample.
        await using (var compiler = StartNode(directory, new Dictionary<string, string>(), "node_modules/typescript/bin/tsc", "-p", "."))
        {
            var exitCode = await compiler.WaitForExitAsync(TimeSpan.FromMinutes(3));
            Assert.True(exitCode == 0, $"tsc failed ({exitCode.ToString(System.Globalization.CultureInfo.InvariantCulture)}):\n{compiler.Output}");
        }

        Server = StartNode(directory, new Dictionary<string, string>
        {
            ["BROKER_URL"] = Broker.Issuer,
            ["MCP_RESOURCE"] = TestBroker.Resource,
            ["MCP_TENANT"] = TestBroker.Tenant,
            ["MCP_LISTEN"] = $"127.0.0.1:{_port}",
            ["BROKER_DEV_SPIFFE_ID"] = Identity,
            ["REVOCATION_MAX_STALENESS_SECONDS"] = MaxStalenessSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }, "dist/server.js");

        // Ready: the broker's metadata read and the revocation feed connected (so tokens minted from now on are
        // newer than its first connection).
        await Server.WaitUntilReadyAsync(new Uri(BaseAddress, "/healthz"));
    }

    public async ValueTask DisposeAsync()
    {
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (Broker is not null)
        {
            await Broker.DisposeAsync();
        }

        if (Relay is not null)
        {
            await Relay.DisposeAsync();
        }

        // The process has ended and its output has been read to the end: nothing it printed is missed here.
        if (Server is not null)
        {
            var output = Server.Output;
            var printed = Presented.Count(t => output.Contains(t, StringComparison.Ordinal) || (t.Split('.') is [_, _, { Length: > 0 } signature] && output.Contains(signature, StringComparison.Ordinal)));
            Assert.True(printed == 0, $"The TypeScript server printed {printed} of the tokens it was presented.");
        }
    }

    private static TestProcess StartNode(string directory, Dictionary<string, string> environment, params string[] arguments)
    {
        try
        {
            return TestProcess.Start("node", directory, environment, arguments);
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException("node is not on PATH: samples/typescript-server's tests need Node.js 20 or later (then `npm ci` in samples/typescript-server).", ex);
        }
    }
}
