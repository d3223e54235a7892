using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using Broker.Hosting;
using Broker.IntegrationTests.DPoP;
using Broker.IntegrationTests.Exchange;
using Broker.IntegrationTests.Infrastructure;
using Broker.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.JsonWebTokens;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Broker.IntegrationTests.Telemetry;

/// <summary>
/// What the OpenTelemetry SDK exports from the broker: the exchange's spans in one trace (in-memory exporter), the
/// metrics through the Prometheus scrape endpoint over a real socket (parsed as Prometheus reads it), and never a
/// token in any tag.
/// </summary>
public sealed partial class ExportTests : IAsyncLifetime
{
    private readonly ExchangeFixture _fixture = new();
    private readonly List<Activity> _spans = [];
    private readonly List<Metric> _metrics = [];

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync() => _fixture.DisposeAsync();

    /// <summary>A broker whose spans and metrics go to the SDK's in-memory exporters.</summary>
    private async Task StartWithInMemoryExportAsync(Action<Dictionary<string, string?>>? configure = null)
    {
        _fixture.Configure = configure;
        _fixture.Services = services => services.AddOpenTelemetry()
            .WithTracing(tracing => tracing
                .AddSource([.. BrokerTelemetry.ActivitySourceNames])
                .AddAspNetCoreInstrumentation()
                .AddInMemoryExporter(_spans))
            .WithMetrics(metrics => metrics
                .AddMeter([.. BrokerTelemetry.MeterNames])
                .AddInMemoryExporter(_metrics));
        await _fixture.InitializeAsync();
    }

    [Fact]
    public async Task Exchange_IsOneTrace_ExchangeSubjectPolicyRecordAndMint_UnderTheHttpServerSpan()
    {
        // Arrange
        await StartWithInMemoryExportAsync();
        var traceId = ActivityTraceId.CreateRandom();

        // Act
        var response = await PostTracedAsync(traceId, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var spans = await SpansOfAsync(traceId, expected: 6);
        var server = Assert.Single(spans, s => s.Kind == ActivityKind.Server);
        var exchange = Assert.Single(spans, s => s.OperationName == "broker.exchange");
        Assert.Equal(server.SpanId, exchange.ParentSpanId);
        foreach (var step in new[] { "broker.exchange.subject", "broker.policy.evaluate", "broker.grant_store.record", "broker.exchange.mint" })
        {
            var span = Assert.Single(spans, s => s.OperationName == step);
            Assert.Equal(exchange.SpanId, span.ParentSpanId);
        }

        // In pipeline order: subject, policy, record, mint.
        Assert.Equal(
            ["broker.exchange.subject", "broker.policy.evaluate", "broker.grant_store.record", "broker.exchange.mint"],
            spans.Where(s => s.ParentSpanId == exchange.SpanId).OrderBy(s => s.StartTimeUtc).Select(s => s.OperationName));
        var jti = new JsonWebToken((await response.Content.ReadFromJsonAsync<TokenAnswer>())!.access_token).Id;
        Assert.Equal("issued", exchange.GetTagItem("broker.exchange.outcome"));
        Assert.Equal("acme", exchange.GetTagItem("broker.tenant"));
        Assert.Equal("spiffe://acme.test/agents/reader", exchange.GetTagItem("broker.subject.id"));
        Assert.Equal(jti, exchange.GetTagItem("broker.grant.id"));
        var record = spans.Single(s => s.OperationName == "broker.grant_store.record");
        Assert.Equal("memory", record.GetTagItem("db.system.name"));
        Assert.Equal("record", record.GetTagItem("db.operation.name"));
        Assert.Equal("allowed", spans.Single(s => s.OperationName == "broker.policy.evaluate").GetTagItem("broker.policy.decision"));
        Assert.Equal(ActivityStatusCode.Unset, exchange.Status);

        // The SDK exported the request count too.
        _fixture.Host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        Assert.Contains(_metrics.Where(m => m.Name == "broker.exchange.requests").SelectMany(Points), p => Tag(p, "broker.exchange.outcome") == "issued" && Tag(p, "broker.tenant") == "acme");
    }

    [Fact]
    public async Task Refusal_TagsTheExchangeSpanWithErrorAndReason_AndIsNotASpanError()
    {
        await StartWithInMemoryExportAsync();
        var traceId = ActivityTraceId.CreateRandom();

        var response = await PostTracedAsync(traceId, ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"), scope: "invoices.write"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var exchange = Assert.Single(await SpansOfAsync(traceId, expected: 4), s => s.OperationName == "broker.exchange");
        Assert.Equal("refused", exchange.GetTagItem("broker.exchange.outcome"));
        Assert.Equal("invalid_scope", exchange.GetTagItem("broker.exchange.error"));
        Assert.NotNull(exchange.GetTagItem("broker.exchange.reason"));
        Assert.Equal(ActivityStatusCode.Unset, exchange.Status);
    }

    [Fact]
    public async Task NoTagValue_OfAnySpanOrMetric_ContainsATokenOrAProof_AndNoMetricTagNamesAGrantOrSubject()
    {
        // Arrange: every token the broker saw or issued — subject tokens, an actor token, a DPoP proof, issued access
        // tokens — through issuances, refusals, a re-exchange, a DPoP exchange, an introspection and revocations.
        await StartWithInMemoryExportAsync();
        using var metrics = new MetricCapture(_fixture.Host.Services);
        List<string> secrets = [];
        List<string> identifiers = [];
        List<ActivityTraceId> traces = [];

        async Task<HttpResponseMessage> PostAsync(string path, Dictionary<string, string> form, string? dpop = null, string? bearer = null)
        {
            var traceId = ActivityTraceId.CreateRandom();
            traces.Add(traceId);
            return await PostTracedAsync(traceId, form, path, dpop, bearer);
        }

        async Task<string> IssueAsync(Dictionary<string, string> form, string? dpop = null)
        {
            secrets.AddRange(form.Where(f => f.Key.EndsWith("token", StringComparison.Ordinal) || f.Key == "assertion").Select(f => f.Value));
            using var response = await PostAsync("/oauth2/token", form, dpop);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode == HttpStatusCode.OK, body);
            var token = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("access_token").GetString()!;
            secrets.Add(token);
            identifiers.Add(new JsonWebToken(token).Id);
            identifiers.Add(new JsonWebToken(token).Subject);
            return token;
        }

        var reader = await IssueAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        var billing = await IssueAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/billing"), scope: "invoices.read invoices.write"));
        var narrowed = await IssueAsync(ExchangeFixture.Request(billing));
        var actor = _fixture.Acme.Svid("/orchestrator/main");
        var delegated = ExchangeFixture.Request(_fixture.Acme.Svid("/agents/billing"));
        delegated["actor_token"] = actor;
        delegated["actor_token_type"] = "urn:ietf:params:oauth:token-type:jwt";
        await IssueAsync(delegated);
        var key = DPoPExchange.NewKey();
        var proof = key.Proof();
        secrets.Add(proof);
        await IssueAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader"), scope: "secrets.read", resource: "https://mcp.acme.test/secrets"), proof);
        var refusedSvid = _fixture.Acme.Svid("/agents/reader");
        secrets.Add(refusedSvid);
        (await PostAsync("/oauth2/token", ExchangeFixture.Request(refusedSvid, scope: "invoices.write"))).Dispose();
        var garbage = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXRoYXQtaXMtbm90LXZhbGlk";
        secrets.Add(garbage);
        (await PostAsync("/oauth2/token", ExchangeFixture.Request(garbage))).Dispose();
        var introspector = _fixture.Acme.Svid("/mcp/invoices");
        secrets.Add(introspector);
        (await PostAsync("/oauth2/introspect", new() { ["token"] = reader }, bearer: introspector)).Dispose();
        (await PostAsync("/oauth2/revoke", new() { ["token"] = narrowed })).Dispose();
        var admin = _fixture.Acme.Svid("/admins/alice");
        secrets.Add(admin);
        using (var revoke = new HttpRequestMessage(HttpMethod.Post, $"/admin/v1/grants/{new JsonWebToken(billing).Id}/revoke") { Content = JsonContent.Create(new { reason = "tag test" }) })
        {
            revoke.Headers.Authorization = new AuthenticationHeaderValue("Bearer", admin);
            using var revoked = await _fixture.Host.Client.SendAsync(revoke);
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        // Act: everything exported, and everything the broker's meters measured.
        List<Activity> spans = [];
        foreach (var trace in traces)
        {
            spans.AddRange(await SpansOfAsync(trace, expected: 2));
        }

        _fixture.Host.Services.GetRequiredService<MeterProvider>().ForceFlush();
        var spanTags = spans.SelectMany(s => s.TagObjects.Select(t => (Where: $"span {s.OperationName} {t.Key}", Value: t.Value?.ToString() ?? ""))).ToList();
        var metricTags = metrics.All.SelectMany(m => m.Tags.Select(t => (Where: $"metric {m.Instrument} {t.Key}", Value: t.Value ?? "")))
            .Concat(_metrics.SelectMany(m => Points(m).SelectMany(p => TagsOf(p).Select(t => (Where: $"exported {m.Name} {t.Key}", Value: t.Value?.ToString() ?? "")))))
            .ToList();

        // Assert: no token, nor any of its three parts (a signature alone is enough to recognise a token), in any tag.
        Assert.NotEmpty(spanTags);
        Assert.NotEmpty(metricTags);
        var fragments = secrets.SelectMany(s => s.Split('.')).Where(part => part.Length >= 16).Concat(secrets).Distinct().ToList();
        foreach (var (where, value) in spanTags.Concat(metricTags))
        {
            Assert.False(fragments.Any(f => value.Contains(f, StringComparison.Ordinal)), $"{where} carries a token: {value}");
        }

        // Cardinality: grant IDs and subjects may tag a span (the audit records them), never a metric.
        foreach (var (where, value) in metricTags)
        {
            Assert.False(identifiers.Any(id => value.Contains(id, StringComparison.Ordinal)), $"{where} carries a grant ID or subject: {value}");
        }
    }

    [Fact]
    public async Task Prometheus_ScrapedOverASocket_OnItsOwnPort_ParsesAndCountsTheExchange()
    {
        // Arrange: the scrape listener on a free loopback port of its own.
        _fixture.Configure = s =>
        {
            s.Configure<TelemetryOptions>(o =>
            {
                o.Prometheus.Enabled = true;
                o.Prometheus.Port = 0;
                o.Prometheus.BindAddress = "127.0.0.1";
            });
        };
        await _fixture.InitializeAsync();
        var scrape = _fixture.Host.Services.GetRequiredService<PrometheusScrapeServer>().Address!;
        Assert.NotEqual(_fixture.Host.BaseAddress.Port, scrape.Port);
        var response = await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));
        Assert.Equal(HttpStatusCode.OK, response.Status);

        // Act
        using var client = new HttpClient { BaseAddress = scrape };
        using var answer = await client.GetAsync("/metrics");
        var text = await answer.Content.ReadAsStringAsync();
        using var elsewhere = await client.GetAsync("/oauth2/token");
        using var onPublicPort = await _fixture.Host.Client.GetAsync("/metrics");

        // Assert: Prometheus text exposition (version 0.0.4), every sample line well formed.
        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.StartsWith("text/plain", answer.Content.Headers.ContentType?.MediaType, StringComparison.Ordinal);
        var samples = ParsePrometheus(text);
        Assert.Contains("# TYPE broker_exchange_requests_total counter", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE broker_exchange_duration_seconds histogram", text, StringComparison.Ordinal);
        Assert.Contains(samples, s => s.Name == "broker_exchange_requests_total" && s.Labels.GetValueOrDefault("broker_exchange_outcome") == "issued"
            && s.Labels.GetValueOrDefault("broker_tenant") == "acme" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "broker_exchange_duration_seconds_bucket" && s.Labels.GetValueOrDefault("le") == "0.0001");
        Assert.Contains(samples, s => s.Name == "broker_exchange_duration_seconds_count" && s.Value >= 1);
        Assert.Contains(samples, s => s.Name == "broker_grant_store_operation_duration_seconds_count" && s.Labels.GetValueOrDefault("db_operation_name") == "record");
        Assert.Contains(samples, s => s.Name == "broker_revocation_feed_connections");

        // Only the scrape path, and not on the public listener.
        Assert.Equal(HttpStatusCode.NotFound, elsewhere.StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, onPublicPort.StatusCode);
    }

    [Fact]
    public async Task Prometheus_OnThePublicPort_WhenTheOperatorAsks()
    {
        _fixture.Configure = s =>
        {
            s.Configure<TelemetryOptions>(o =>
            {
                o.Prometheus.Enabled = true;
                o.Prometheus.UsePublicPort = true;
                o.Prometheus.Path = "/internal/metrics";
            });
        };
        await _fixture.InitializeAsync();
        await _fixture.ExchangeAsync(ExchangeFixture.Request(_fixture.Acme.Svid("/agents/reader")));

        using var answer = await _fixture.Host.Client.GetAsync("/internal/metrics");

        Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        Assert.Contains(ParsePrometheus(await answer.Content.ReadAsStringAsync()), s => s.Name == "broker_exchange_requests_total");
        Assert.Null(_fixture.Host.Services.GetService<PrometheusScrapeServer>());
    }

    [Theory]
    [InlineData("Broker:Telemetry:Prometheus:Path", "metrics")]
    [InlineData("Broker:Telemetry:Prometheus:Path", "/metrics?x=1")]
    [InlineData("Broker:Telemetry:Prometheus:Path", "/a/../metrics")]
    [InlineData("Broker:Telemetry:Prometheus:Port", "70000")]
    [InlineData("Broker:Telemetry:Prometheus:BindAddress", "not-an-address")]
    [InlineData("Broker:Telemetry:OtlpEndpoint", "ftp://collector:4317")]
    public async Task Start_TelemetrySettingsThatCannotWork_RefuseToStart(string key, string value)
    {
        _fixture.Configure = s =>
        {
            s.Configure<TelemetryOptions>(o => o.Prometheus.Enabled = true);
            s[key] = value;
        };

        var failure = await Assert.ThrowsAsync<Microsoft.Extensions.Options.OptionsValidationException>(async () => await _fixture.InitializeAsync());

        Assert.Contains(key.Replace("Broker:Telemetry:", string.Empty, StringComparison.Ordinal).Split(':')[^1], failure.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Parses the Prometheus text format: <c># HELP</c>/<c># TYPE</c> comments, and samples
    /// <c>name{label="value",…} value [timestamp]</c> with the format's escapes in label values. Fails on any other line.
    /// </summary>
    private static List<Sample> ParsePrometheus(string text)
    {
        List<Sample> samples = [];
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line.StartsWith("# HELP ", StringComparison.Ordinal) || line.StartsWith("# TYPE ", StringComparison.Ordinal) || line == "# EOF")
            {
                continue;
            }

            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"not a Prometheus sample line: {line}");
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelPair().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["name"].Value] = label.Groups["value"].Value.Replace("\\n", "\n", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            samples.Add(new Sample(match.Groups["name"].Value, labels, value));
        }

        return samples;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>([a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*",?)*)\})? (?<value>\S+)( -?\d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(""""(?<name>[a-zA-Z_][a-zA-Z0-9_]*)="(?<value>([^"\\]|\\.)*)"""")]
    private static partial Regex LabelPair();

    private async Task<HttpResponseMessage> PostTracedAsync(ActivityTraceId traceId, Dictionary<string, string> form, string path = "/oauth2/token", string? dpop = null, string? bearer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new FormUrlEncodedContent(form) };
        request.Headers.TryAddWithoutValidation("traceparent", $"00-{traceId}-{ActivitySpanId.CreateRandom()}-01");
        if (dpop is not null)
        {
            request.Headers.TryAddWithoutValidation("DPoP", dpop);
        }

        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return await _fixture.Host.Client.SendAsync(request);
    }

    /// <summary>The exported spans of one trace, once at least <paramref name="expected"/> have ended (the server span ends after the response).</summary>
    private async Task<List<Activity>> SpansOfAsync(ActivityTraceId traceId, int expected)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (true)
        {
            List<Activity> spans;
            lock (_spans)
            {
                spans = [.. _spans.Where(s => s.TraceId == traceId)];
            }

            if ((spans.Count >= expected && spans.Any(s => s.Kind == ActivityKind.Server)) || DateTime.UtcNow > deadline)
            {
                return spans;
            }

            await Task.Delay(20);
        }
    }

    private static IEnumerable<MetricPoint> Points(Metric metric)
    {
        List<MetricPoint> points = [];
        foreach (ref readonly var point in metric.GetMetricPoints())
        {
            points.Add(point);
        }

        return points;
    }

    private static List<KeyValuePair<string, object?>> TagsOf(MetricPoint point)
    {
        List<KeyValuePair<string, object?>> tags = [];
        foreach (var tag in point.Tags)
        {
            tags.Add(tag);
        }

        return tags;
    }

    private static string? Tag(MetricPoint point, string key) => TagsOf(point).FirstOrDefault(t => t.Key == key).Value?.ToString();

    private sealed record Sample(string Name, IReadOnlyDictionary<string, string> Labels, double Value);

#pragma warning disable IDE1006, CA1707 // the JSON member's name
    private sealed record TokenAnswer(string access_token);
#pragma warning restore IDE1006, CA1707
}
