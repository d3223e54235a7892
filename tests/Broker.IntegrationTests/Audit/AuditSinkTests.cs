using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Broker.Audit;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Broker.IntegrationTests.Audit;

/// <summary>
/// The audit trail for shippers: every event as one JSON line of the documented schema (docs/audit.md) in the sink
/// file, and as named fields in the log, never a JSON string inside a message; a sink that cannot be written stops
/// the broker at start.
/// </summary>
public sealed partial class AuditSinkTests : IAsyncDisposable
{
    private readonly TempDirectory _files = new();
    private readonly CapturingLoggerProvider _logs = new();
    private readonly ExchangeFixture _fixture = new();

    public async ValueTask DisposeAsync()
    {
        await _fixture.DisposeAsync();
        _files.Dispose();
    }

    private string SinkPath => Path.Combine(_files.Path, "audit.jsonl");

    private async Task StartAsync()
    {
        _fixture.Configure = s => s.Configure<AuditOptions>(o => o.File = SinkPath);
        _fixture.Services = s => s.AddLogging(b => b.AddProvider(_logs));
        await _fixture.InitializeAsync();
    }

    [Fact]
    public async Task EveryEvent_IsOneJsonLineOfTheSchema_AndTheSameEventsAsTheStore()
    {
        await StartAsync();
        var svid = _fixture.Acme.Svid("/agents/reader");
        var granted = await _fixture.ExchangeAsync(ExchangeFixture.Request(svid));
        var refused = await _fixture.ExchangeAsync(ExchangeFixture.Request(svid, scope: "invoices.write"));
        Assert.Equal(HttpStatusCode.OK, granted.Status);
        Assert.Equal(HttpStatusCode.BadRequest, refused.Status);

        // Stopping the broker flushes the sink.
        var stored = _fixture.Host.AuditTrail.ToList();
        await _fixture.Host.DisposeAsync();
        var lines = await File.ReadAllLinesAsync(SinkPath);

        Assert.Equal(stored.Count, lines.Length);
        var events = lines.Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(events, e =>
        {
            Assert.Equal(AuditEvent.CurrentSchemaVersion, e.GetProperty("schema_version").GetInt32());
            Assert.Matches(UtcMilliseconds(), e.GetProperty("time").GetString());
            Assert.Equal("schema_version", e.EnumerateObject().First().Name);
        });
        var allowed = Assert.Single(events, e => e.GetProperty("outcome").GetString() == "allowed");
        Assert.Equal("token.exchange", allowed.GetProperty("type").GetString());
        Assert.Equal("acme", allowed.GetProperty("tenant").GetString());
        Assert.Equal(stored.Single(e => e.Outcome == AuditOutcome.Allowed).GrantId, allowed.GetProperty("grant_id").GetString());
        var denied = Assert.Single(events, e => e.GetProperty("outcome").GetString() == "denied");
        Assert.Equal("policy.scope_not_allowed", denied.GetProperty("reason").GetString());

        // Identities and decisions only: neither the subject token nor the issued token is in the file.
        var text = await File.ReadAllTextAsync(SinkPath);
        Assert.DoesNotContain(svid, text, StringComparison.Ordinal);
        Assert.DoesNotContain(granted.AccessToken, text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogEvent_CarriesEachFieldAsANamedProperty()
    {
        await StartAsync();
        var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, response.Status);

        var entry = Assert.Single(_logs.Entries, e => e.Category == "Broker.Audit" && e.EventId.Name == "AuditEvent" && e.Properties["Outcome"] is "allowed");
        Assert.Equal(AuditEvent.CurrentSchemaVersion, entry.Properties["SchemaVersion"]);
        Assert.Equal("token.exchange", entry.Properties["Type"]);
        Assert.Equal("acme", entry.Properties["Tenant"]);
        Assert.Equal("spiffe://acme.test/agents/reader", entry.Properties["Subject"]);
        Assert.Equal(["invoices.read"], Assert.IsAssignableFrom<IEnumerable<string>>(entry.Properties["GrantedCapabilities"]));
        Assert.Matches(UtcMilliseconds(), Assert.IsType<string>(entry.Properties["Time"]));
        Assert.DoesNotContain("{\"", entry.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sink_AppendsAcrossRestarts_NeverTruncates()
    {
        await File.WriteAllTextAsync(SinkPath, "{\"earlier\":true}\n");
        await StartAsync();
        Assert.Equal(HttpStatusCode.OK, (await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")))).Status);
        await _fixture.Host.DisposeAsync();

        var lines = await File.ReadAllLinesAsync(SinkPath);
        Assert.Equal("{\"earlier\":true}", lines[0]);
        Assert.Contains(lines.Skip(1), l => l.Contains("\"type\":\"token.exchange\"", StringComparison.Ordinal));
    }

    public static TheoryData<string, string, string> BadSettings() => new()
    {
        { "Broker:Audit:File", "{missing}/audit.jsonl", "the directory of" },
        { "Broker:Audit:File", "{dir}", "is a directory" },
        { "Broker:Audit:FlushInterval", "00:00:00.001", "Broker:Audit:FlushInterval must be between" },
        { "Broker:Audit:FlushInterval", "00:01:00", "Broker:Audit:FlushInterval must be between" },
    };

    [Theory]
    [MemberData(nameof(BadSettings))]
    public async Task UnusableSink_StopsTheBrokerAtStart(string key, string value, string message)
    {
        value = value.Replace("{missing}", Path.Combine(_files.Path, "no-such-dir"), StringComparison.Ordinal)
            .Replace("{dir}", _files.Path, StringComparison.Ordinal);
        _fixture.Configure = s => s[key] = value;

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => _fixture.InitializeAsync().AsTask());

        Assert.Contains(message, failure.ToString(), StringComparison.Ordinal);
    }

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")]
    private static partial Regex UtcMilliseconds();
}
