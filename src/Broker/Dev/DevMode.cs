namespace Broker.Dev;

/// <summary>
/// <c>--dev</c>: one process on loopback with an in-memory store, an ephemeral key, the sample
/// policy and the dev identity source. Loudly not for production.
/// </summary>
internal static class DevMode
{
    public const string Flag = "--dev";
    public const int DefaultPort = 5080;

    public static bool IsRequested(string[] args) => args.Contains(Flag, StringComparer.Ordinal);

    public static string[] WithoutFlag(string[] args) => [.. args.Where(a => a != Flag)];

    public static void Configure(WebApplicationBuilder builder)
    {
        var port = builder.Configuration.GetValue("Broker:Dev:Port", DefaultPort);
        var issuer = $"http://127.0.0.1:{port}";
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Broker:DevMode"] = "true",
            ["Broker:Issuer"] = issuer,
            ["Broker:Keys:AllowEphemeralKey"] = "true",
            ["Broker:Policy:Path"] = string.IsNullOrWhiteSpace(builder.Configuration["Broker:Policy:Path"])
                ? Path.Combine(AppContext.BaseDirectory, "dev-policy")
                : builder.Configuration["Broker:Policy:Path"],
            ["Broker:Redis:Configuration"] = "",
            ["Broker:Admin:GlobalAdmins:0"] = DevIdentityIssuer.Admin.ToString(),
        });

        // Loopback only, whatever --urls says: the dev identity source hands out identities to anyone who asks.
        builder.WebHost.UseUrls(issuer);
    }

    public static void Announce(ILogger logger, string issuer, DevIdentityIssuer identities)
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
        Console.Error.WriteLine($"Dev admin ({DevIdentityIssuer.Admin}), valid 1 h:{Environment.NewLine}  export BROKER_URL={issuer} BROKER_TOKEN={identities.Issue(DevIdentityIssuer.Admin, TimeSpan.FromHours(1))}{Environment.NewLine}");
        Log.DevModeStarted(logger, issuer);
    }
}
