using Broker.Grants;
using Broker.Grants.Redis;
using Broker.Grants.InMemory;
using Broker.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Broker.IntegrationTests.Grants;

public sealed class GrantsModuleTests
{
    [Fact]
    public void Register_NoRedisConfiguration_UsesTheInMemoryStore()
    {
        using var services = Build([]);

        Assert.IsType<InMemoryGrantStore>(services.GetRequiredService<IGrantStore>());
        Assert.Null(services.GetService<IConnectionMultiplexer>());
    }

    [Fact]
    public void Register_Twice_RegistersOnce()
    {
        var configuration = Configuration([]);
        var collection = new ServiceCollection().AddLogging();
        GrantsModule.Register(collection, configuration);
        GrantsModule.Register(collection, configuration);

        Assert.Single(collection, d => d.ServiceType == typeof(IGrantStore));
        Assert.Single(collection, d => d.ServiceType == typeof(IValidateOptions<GrantsOptions>));
    }

    [Fact]
    public async Task Register_RedisConfiguration_UsesTheRedisStore()
    {
        // Arrange: nothing listens there; the store is still created (and fails closed when used).
        await using var services = Build(new()
        {
            ["Broker:Redis:Configuration"] = $"127.0.0.1:{FreePorts.Next()}",
            ["Broker:Redis:ConnectTimeout"] = "00:00:00.200",
            ["Broker:Redis:OperationTimeout"] = "00:00:00.200",
        });

        // Act
        var store = services.GetRequiredService<IGrantStore>();

        // Assert
        Assert.IsType<RedisGrantStore>(store);
        Assert.False(await store.IsReadyAsync(TestContext.Current.CancellationToken));
    }

    [Theory]
    [InlineData("Broker:Redis:KeyPrefix", "broker:{x}:")]
    [InlineData("Broker:Redis:OperationTimeout", "00:00:00")]
    [InlineData("Broker:Grants:Retention", "-00:01:00")]
    [InlineData("Broker:Grants:AuditMaxLength", "0")]
    [InlineData("Broker:Grants:RevocationStreamRetention", "00:00:01")]
    public void Register_InvalidSetting_FailsValidationAtStart(string key, string value)
    {
        using var services = Build(new() { [key] = value });

        Assert.Throws<OptionsValidationException>(() => services.GetRequiredService<IStartupValidator>().Validate());
    }

    [Fact]
    public void RedisConfigurationLogValue_NeverContainsThePassword()
    {
        var options = ConfigurationOptions.Parse("redis.internal:6380,password=s3cr3t-value,ssl=true");

        var logged = new RedisConfigurationLogValue(options).ToString();

        Assert.DoesNotContain("s3cr3t-value", logged, StringComparison.Ordinal);
        Assert.Contains("redis.internal:6380", logged, StringComparison.Ordinal);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var collection = new ServiceCollection().AddLogging();
        GrantsModule.Register(collection, Configuration(settings));
        return collection.BuildServiceProvider();
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings)
        => new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
}
