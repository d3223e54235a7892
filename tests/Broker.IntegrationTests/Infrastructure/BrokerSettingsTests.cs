using Broker.Authentication;
using Broker.Grants.Redis;
using Broker.Keys;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Trust;
using Broker.Subjects;
using Broker.Telemetry;
using Broker.Tokens;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// The typed test settings write what the broker binds: each change, made through <see cref="BrokerSettings"/>, is
/// read back through the options the broker's own composition (<c>AddBroker().AddTelemetryExport()</c>, as
/// <see cref="BrokerTestHost"/> composes it) configures from the same settings.
/// </summary>
public sealed class BrokerSettingsTests
{
    [Fact]
    public void Configure_Scalars_AreBoundByTheBroker()
    {
        // Arrange
        var settings = new Dictionary<string, string?>();

        // Act
        settings
            .Configure<RedisOptions>(o =>
            {
                o.KeyPrefix = "broker:test:";
                o.OperationTimeout = TimeSpan.FromMilliseconds(250);
                o.WaitForReplicas = 2;
            })
            .Configure<BrokerOptions>(o => o.Issuer = "https://broker.example")
            .Configure<PolicyOptions>(o => o.Path = "/policies")
            .Configure<SpiffeAgentOptions>(o => o.ServeTls = true)
            .Configure<SubjectsOptions>(o => o.MinimumKeyRefreshInterval = TimeSpan.FromMinutes(10));

        // Assert
        var redis = Bound<RedisOptions>(settings);
        Assert.Equal(("broker:test:", TimeSpan.FromMilliseconds(250), 2), (redis.KeyPrefix, redis.OperationTimeout, redis.WaitForReplicas));
        Assert.Equal("https://broker.example", Bound<BrokerOptions>(settings).Issuer);
        Assert.Equal("/policies", Bound<PolicyOptions>(settings).Path);
        Assert.True(Bound<SpiffeAgentOptions>(settings).ServeTls);
        Assert.Equal(TimeSpan.FromMinutes(10), Bound<SubjectsOptions>(settings).MinimumKeyRefreshInterval);
    }

    [Fact]
    public void Configure_NestedOptionsAndLists_AreBoundByTheBroker()
    {
        // Arrange
        var settings = new Dictionary<string, string?>();

        // Act
        settings
            .Configure<TelemetryOptions>(o => o.Prometheus.Port = 0)
            .Configure<KeysOptions>(o => o.Rotation.PollInterval = TimeSpan.FromSeconds(1))
            .Configure<RateLimitOptions>(o => o.FailedAuthentication.Limit = 3)
            .Configure<AdminOptions>(o =>
            {
                o.GlobalAdmins.Add("spiffe://acme.test/admins/root");
                o.GlobalAdmins.Add("oidc:https://issuer.test#ops");
            });

        // Assert
        Assert.Equal(0, Bound<TelemetryOptions>(settings).Prometheus.Port);
        Assert.Equal(TimeSpan.FromSeconds(1), Bound<KeysOptions>(settings).Rotation.PollInterval);
        Assert.Equal(3, Bound<RateLimitOptions>(settings).FailedAuthentication.Limit);
        Assert.Equal(["spiffe://acme.test/admins/root", "oidc:https://issuer.test#ops"], Bound<AdminOptions>(settings).GlobalAdmins);
    }

    [Fact]
    public void Configure_BackToTheDefault_OverridesWhatTheSettingsHeld()
    {
        // Arrange: what BrokerTestHost sets for every test, as raw keys.
        var settings = new Dictionary<string, string?>
        {
            ["Broker:Keys:AllowEphemeralKey"] = "true",
            ["Broker:RateLimits:PerIdentity"] = "100000/s",
            ["Broker:Admin:GlobalAdmins:0"] = "spiffe://acme.test/admins/a",
            ["Broker:Admin:GlobalAdmins:1"] = "spiffe://acme.test/admins/b",
        };

        // Act: false is the default; a shorter list leaves no stale item behind.
        settings
            .Configure<KeysOptions>(o => o.AllowEphemeralKey = false)
            .Configure<RateLimitOptions>(o => o.PerIdentity = "2/h")
            .Configure<AdminOptions>(o => o.GlobalAdmins.RemoveAt(1));

        // Assert
        Assert.False(Bound<KeysOptions>(settings).AllowEphemeralKey);
        Assert.Equal("2/h", Bound<RateLimitOptions>(settings).PerIdentity);
        Assert.Equal(["spiffe://acme.test/admins/a"], Bound<AdminOptions>(settings).GlobalAdmins);
    }

    [Fact]
    public void Configure_NothingChanged_WritesNothing()
    {
        // Arrange
        var settings = new Dictionary<string, string?> { ["Broker:Redis:KeyPrefix"] = "p:" };

        // Act
        settings.Configure<RedisOptions>(o => o.KeyPrefix = "p:");

        // Assert
        Assert.Equal(["Broker:Redis:KeyPrefix"], settings.Keys);
    }

    [Fact]
    public void SectionOf_OptionsClassTheTableDoesNotKnow_Throws()
        => Assert.Throws<ArgumentException>(() => BrokerSettings.SectionOf(typeof(BrokerSettingsTests)));

    /// <summary>The options as the broker's composition configures them from <paramref name="settings"/> (no validation).</summary>
    private static TOptions Bound<TOptions>(Dictionary<string, string?> settings)
        where TOptions : class, new()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging();
        services.AddBroker(configuration).AddTelemetryExport();
        using var provider = services.BuildServiceProvider();
        var options = new TOptions();
        foreach (var configure in provider.GetServices<IConfigureOptions<TOptions>>())
        {
            configure.Configure(options);
        }

        return options;
    }
}
