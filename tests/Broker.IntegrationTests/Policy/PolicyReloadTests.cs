using System.Net;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Policy;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;

namespace Broker.IntegrationTests.Policy;

/// <summary>
/// A rejected policy edit keeps the last good policy in force and the replica ready, but <c>/readyz</c> says the files
/// on disk were rejected until they compile again; when they do, even by restoring the very policy in force, the log
/// says so.
/// </summary>
public sealed class PolicyReloadTests : IAsyncLifetime
{
    private readonly FakeLogCollector _logs = new();
    private ExchangeFixture _fixture = null!;

    public async ValueTask InitializeAsync()
    {
        _fixture = new ExchangeFixture { Services = s => s.AddSingleton<ILoggerProvider>(new FakeLoggerProvider(_logs)) };
        await _fixture.InitializeAsync();
    }

    public async ValueTask DisposeAsync() => await _fixture.DisposeAsync();

    private async Task<(HttpStatusCode Status, string Reload, List<string> Warnings)> ReadyzAsync()
    {
        using var response = await _fixture.Host.Client.GetAsync("/readyz");
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var warnings = body.RootElement.TryGetProperty("warnings", out var list) ? list.EnumerateArray().Select(w => w.GetString()!).ToList() : [];
        return (response.StatusCode, body.RootElement.GetProperty("checks").GetProperty("policy_reload").GetString()!, warnings);
    }

    /// <summary>Replaces the file in one step, as a ConfigMap update or an editor's save-by-rename does, so the watcher never reads half a file.</summary>
    private static void Replace(string path, string content)
    {
        var temporary = Path.Combine(Path.GetDirectoryName(path)!, "." + Path.GetFileName(path) + ".tmp");
        File.WriteAllText(temporary, content);
        File.Move(temporary, path, overwrite: true);
    }

    [Fact]
    public async Task RejectedEditReverted_ReadyzReportsTheFailureMeanwhile_AndTheRecoveryIsLogged()
    {
        // Arrange
        var policy = _fixture.Host.Services.GetRequiredService<IPolicyProvider>();
        var version = policy.Current!.Version;
        var path = Path.Combine(_fixture.Directory.Path, "policy", "acme.yaml");
        var good = await File.ReadAllTextAsync(path);
        var before = await ReadyzAsync();

        // Act 1: a broken edit, picked up by the file watcher.
        Replace(path, "tenant: acme\ncapabilities: [unclosed\n");
        await Eventually.HoldsAsync(() => policy.LastReloadFailure is not null, TimeSpan.FromSeconds(15));
        var broken = await ReadyzAsync();
        var exchange = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));

        // Act 2: the edit reverted.
        Replace(path, good);
        await Eventually.HoldsAsync(() => policy.LastReloadFailure is null, TimeSpan.FromSeconds(15));
        var reverted = await ReadyzAsync();

        // Assert: before, nothing to report.
        Assert.Equal((HttpStatusCode.OK, "ok"), (before.Status, before.Reload));
        Assert.DoesNotContain(before.Warnings, w => w.StartsWith("policy_reload", StringComparison.Ordinal));

        // Meanwhile: still ready (the last good policy serves exchanges), but the failure is in the report.
        Assert.Equal((HttpStatusCode.OK, "failed"), (broken.Status, broken.Reload));
        var warning = Assert.Single(broken.Warnings, w => w.StartsWith("policy_reload: ", StringComparison.Ordinal));
        Assert.Contains("rejected with 1 error(s)", warning, StringComparison.Ordinal);
        Assert.EndsWith($"policy {version} stays in force", warning, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, exchange.Status);

        // After: the same policy as before, the report clear, and the log says the files compile again.
        Assert.Equal(version, policy.Current!.Version);
        Assert.Equal((HttpStatusCode.OK, "ok"), (reverted.Status, reverted.Reload));
        Assert.DoesNotContain(reverted.Warnings, w => w.StartsWith("policy_reload", StringComparison.Ordinal));
        var logs = _logs.GetSnapshot().ToList();
        var rejectedAt = logs.FindIndex(r => r.Id.Name == "PolicyRejected");
        var recoveredAt = logs.FindIndex(r => r.Id.Name == "PolicyRecovered");
        Assert.InRange(rejectedAt, 0, recoveredAt - 1);
        Assert.Equal(LogLevel.Information, logs[recoveredAt].Level);
        Assert.Contains(version, logs[recoveredAt].Message, StringComparison.Ordinal);
        Assert.Single(logs, r => r.Id.Name == "PolicyRecovered");

        // Nothing else would have said it: the restored policy is the one in force, so it is not "loaded" again.
        Assert.DoesNotContain(logs.Skip(rejectedAt), r => r.Id.Name == "PolicyLoaded");
    }

    [Fact]
    public async Task RejectedEditFixedDifferently_TheNewPolicyTakesEffect_AndTheReportClears()
    {
        // Arrange
        var policy = _fixture.Host.Services.GetRequiredService<IPolicyProvider>();
        var version = policy.Current!.Version;
        var path = Path.Combine(_fixture.Directory.Path, "policy", "acme.yaml");
        var good = await File.ReadAllTextAsync(path);
        Replace(path, good.Replace("max_lifetime: 10m", "max_lifetime: soon", StringComparison.Ordinal));

        // Act: a direct reload, then the fix.
        var rejected = policy.Reload();
        Replace(path, good.Replace("max_lifetime: 10m", "max_lifetime: 9m", StringComparison.Ordinal));
        var fixedUp = policy.Reload();

        // Assert
        Assert.False(rejected.Succeeded);
        Assert.True(fixedUp.Succeeded);
        Assert.NotEqual(version, policy.Current!.Version);
        Assert.Null(policy.LastReloadFailure);
        Assert.Equal("ok", (await ReadyzAsync()).Reload);
        Assert.Contains(_logs.GetSnapshot(), r => r.Id.Name == "PolicyRecovered");
    }
}
