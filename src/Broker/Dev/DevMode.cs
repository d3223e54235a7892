using System.Net;
using System.Reflection;
using Broker.Tokens;

namespace Broker.Dev;

/// <summary>
/// <c>--dev</c>: one process on loopback with an in-memory store, an ephemeral key, the sample
/// policy and the dev identity source. Loudly not for production. Only the flag turns it on:
/// <c>Broker:DevMode</c> from any configuration source is ignored.
/// </summary>
internal static class DevMode
{
    public const string Flag = "--dev";
    public const int DefaultPort = 5080;

    public static bool IsRequested(string[] args) => args.Contains(Flag, StringComparer.Ordinal);

    public static string[] WithoutFlag(string[] args) => [.. args.Where(a => a != Flag)];

    /// <summary>
    /// Turns dev mode on: the dev identity source, <c>bundle: dev</c> and insecure loopback URLs. The flag, not
    /// configuration, is what calls this (AddBroker resets <see cref="BrokerOptions.DevMode"/> after binding).
    /// </summary>
    public static void Enable(IServiceCollection services)
    {
        services.PostConfigure<BrokerOptions>(o => o.DevMode = true);
        DevModule.Register(services);
    }

    /// <summary>
    /// The sample policy dev mode runs: in a debug build, the repository's <c>samples/dev/policy</c> it was built from
    /// (while that folder exists), so an edit there takes effect on save; otherwise the copy next to the binary.
    /// </summary>
    public static string SamplePolicyDirectory()
    {
        var source = typeof(DevMode).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == "Broker.DevPolicySource")?.Value;
        return source is not null && Directory.Exists(source) ? source : Path.Combine(AppContext.BaseDirectory, "dev-policy");
    }

    /// <summary>Configures dev mode; returns the start-up problems found (a non-loopback endpoint), empty when none.</summary>
    public static IReadOnlyList<string> Configure(WebApplicationBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        List<string> problems = [];
        var issuer = ListenAddress(builder.Configuration, problems, out var configured);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:Issuer"] = issuer,
            ["Broker:Keys:AllowEphemeralKey"] = "true",
            ["Broker:Policy:Path"] = string.IsNullOrWhiteSpace(builder.Configuration["Broker:Policy:Path"])
                ? SamplePolicyDirectory()
                : builder.Configuration["Broker:Policy:Path"],
            ["Broker:Redis:Configuration"] = "",
            ["Broker:Admin:GlobalAdmins:0"] = DevIdentityIssuer.Admin.ToString(),
        });

        Enable(builder.Services);

        // Loopback only: the dev identity source hands out identities to anyone who asks. Addresses the operator
        // gave (--urls, ASPNETCORE_URLS, Kestrel:Endpoints) were checked above; otherwise 127.0.0.1.
        if (!configured)
        {
            builder.WebHost.UseUrls(issuer);
        }

        return problems;
    }

    /// <summary>
    /// The dev broker's base URL (its issuer): the first Kestrel endpoint or <c>urls</c> entry the operator gave, each
    /// of which must be loopback with a fixed port, or <c>http://127.0.0.1:{Broker:Dev:Port}</c>.
    /// </summary>
    private static string ListenAddress(ConfigurationManager configuration, List<string> problems, out bool configured)
    {
        // Kestrel's own endpoints replace --urls when both are set, so they come first.
        var given = configuration.GetSection("Kestrel:Endpoints").GetChildren()
            .Where(e => !string.IsNullOrWhiteSpace(e["Url"]))
            .Select(e => (Url: e["Url"]!, Source: $"Kestrel:Endpoints:{e.Key}:Url"))
            .ToList();
        if (given.Count == 0)
        {
            given = [.. (configuration[WebHostDefaults.ServerUrlsKey] ?? string.Empty)
                .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(url => (Url: url, Source: "--urls / ASPNETCORE_URLS"))];
        }

        configured = given.Count > 0;
        string? first = null;
        foreach (var (url, source) in given)
        {
            if (LoopbackBaseUrl(url) is { } baseUrl)
            {
                first ??= baseUrl;
            }
            else
            {
                problems.Add($"--dev listens on loopback only, with a fixed port: '{url}' ({source}) is not. Use 127.0.0.1, [::1] or localhost.");
            }
        }

        if (first is not null || configured)
        {
            return first ?? $"http://127.0.0.1:{DefaultPort}";
        }

        int port;
        try
        {
            port = configuration.GetValue("Broker:Dev:Port", DefaultPort);
        }
        catch (InvalidOperationException)
        {
            port = 0;
        }

        if (port is < 1 or > 65535)
        {
            problems.Add("Broker:Dev:Port must be a port number, 1-65535.");
            port = DefaultPort;
        }

        return $"http://127.0.0.1:{port}";
    }

    /// <summary><c>scheme://host:port</c> of a loopback listen address, or null for any other (all interfaces, a name, port 0).</summary>
    private static string? LoopbackBaseUrl(string url)
    {
        BindingAddress address;
        try
        {
            address = BindingAddress.Parse(url);
        }
        catch (FormatException)
        {
            return null;
        }

        var host = address.Host;
        var loopback = string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var ip) && IPAddress.IsLoopback(ip));
        return loopback && !address.IsUnixPipe && address.Port is > 0 and <= 65535 && address.PathBase.Length == 0
            ? $"{address.Scheme}://{host}:{address.Port}"
            : null;
    }

    public static void Announce(ILogger logger, string issuer, string policyDirectory, DevIdentityIssuer identities)
    {
        ArgumentNullException.ThrowIfNull(identities);
        const string Banner = """

            ************************************************************************
            *  BROKER DEV MODE: NOT FOR PRODUCTION                                  *
            *  In-memory grants, an ephemeral signing key, the sample policy and a  *
            *  dev identity source that issues SPIFFE IDs to anyone on loopback.    *
            ************************************************************************

            """;
        Console.Error.WriteLine(Banner);

        // A credential for the admin API and brokerctl, valid for an hour. Dev only: printing a
        // credential is exactly what a production broker must never do.
        Console.Error.WriteLine($"Dev admin ({DevIdentityIssuer.Admin}), valid 1 h:{Environment.NewLine}  export BROKER_URL={issuer} BROKER_TOKEN={identities.Issue(DevIdentityIssuer.Admin, TimeSpan.FromHours(1))}");
        Console.Error.WriteLine($"Renew it (valid 5 min each time) with:{Environment.NewLine}  export BROKER_TOKEN=$(curl -s -X POST '{issuer}/dev/svid?spiffe_id={DevIdentityIssuer.Admin}'){Environment.NewLine}");
        Console.Error.WriteLine($"Policy: {policyDirectory} (edits apply on save){Environment.NewLine}");
        Log.DevModeStarted(logger, issuer);
    }
}
