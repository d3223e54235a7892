using System.ComponentModel;
using System.Reflection;
using Broker.Testing;

namespace Broker.Validation.Tests.Infrastructure;

/// <summary>
/// tests/dpop-node/resource-server.mjs as a <c>node</c> process: a resource server whose only check is the npm
/// <c>oauth4webapi</c> package's <c>validateJwtAccessToken</c> (RFC 9068 + RFC 9449), reading the real broker's
/// metadata and JWKS (in process, dev identity source, <see cref="TestBroker.Policy"/>). One of each per test class.
/// </summary>
public sealed class OAuth4WebApiServerFixture : IAsyncLifetime
{
    private readonly int _port = FreePorts.Next();

    public TestBroker Broker { get; private set; } = null!;

    public TestProcess Server { get; private set; } = null!;

    /// <summary>The resource server's one protected URL (any path but /healthz is protected alike).</summary>
    public Uri Endpoint => new($"http://127.0.0.1:{_port}/resource");

    public static string NodeDirectory => Path.GetFullPath(typeof(OAuth4WebApiServerFixture).Assembly
        .GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "DPoPNodeDirectory").Value!);

    public async ValueTask InitializeAsync()
    {
        var directory = NodeDirectory;
        if (!File.Exists(Path.Combine(directory, "node_modules", "oauth4webapi", "package.json")))
        {
            throw new InvalidOperationException($"The npm oauth4webapi package is not installed: run `npm ci --ignore-scripts` in {directory} (Node.js 20 or later; .ci/run does).");
        }

        Broker = await TestBroker.StartAsync(settings: new Dictionary<string, string?>
        {
            ["Broker:RateLimits:PerIdentity"] = "100000/s",
        });

        try
        {
            Server = TestProcess.Start("node", directory, new Dictionary<string, string>
            {
                ["BROKER_ISSUER"] = Broker.Issuer,
                ["RS_AUDIENCE"] = TestBroker.Resource,
                ["RS_LISTEN"] = $"127.0.0.1:{_port}",
            }, "resource-server.mjs");
        }
        catch (Win32Exception ex)
        {
            throw new InvalidOperationException("node is not on PATH: the oauth4webapi interop tests need Node.js 20 or later (then `npm ci --ignore-scripts` in tests/dpop-node).", ex);
        }

        // Ready once it has read the broker's RFC 8414 metadata and listens.
        await Server.WaitUntilReadyAsync(new Uri(Endpoint, "/healthz"));
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
    }
}
