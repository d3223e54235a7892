using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Broker.Audit;
using Broker.Errors;
using Broker.IntegrationTests.Exchange;

namespace Broker.IntegrationTests.OAuth;

/// <summary>
/// The door of the three OAuth endpoints, over real Kestrel: exactly application/x-www-form-urlencoded in UTF-8,
/// bounded, each parameter once, no query string, POST only. Every refusal is the RFC 6749 §5.2 JSON error from the
/// catalog, never cached; at the token endpoint it is one audit event with its reason and no grant.
/// </summary>
public sealed class OAuthFrontDoorTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private static readonly string[] Endpoints = ["/oauth2/token", "/oauth2/revoke", "/oauth2/introspect"];

    /// <summary>A bad request: its query string, a body factory, and the catalog entry it must be answered with.</summary>
    private sealed record Case(string Query, Func<HttpContent?> Content, ErrorDescriptor Expected);

    private static ByteArrayContent Raw(byte[] body, string? contentType)
    {
        var content = new ByteArrayContent(body);
        if (contentType is not null)
        {
            content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        }

        return content;
    }

    private static ByteArrayContent Form(string body, string contentType = "application/x-www-form-urlencoded") => Raw(Encoding.UTF8.GetBytes(body), contentType);

    private static readonly Dictionary<string, Case> Cases = new()
    {
        ["token in the query string"] = new("?subject_token=eyJhbGciOiJFUzI1NiJ9.e30.c2ln&token=eyJhbGciOiJFUzI1NiJ9.e30.c2ln", () => Form("token=x"), ErrorCatalog.QueryNotAllowed),
        ["empty query string"] = new("?", () => Form("token=x"), ErrorCatalog.QueryNotAllowed),
        ["no Content-Type"] = new("", () => Raw(Encoding.UTF8.GetBytes("token=x"), null), ErrorCatalog.MissingContentType),
        ["application/json"] = new("", () => new StringContent("""{"token":"x"}""", Encoding.UTF8, "application/json"), ErrorCatalog.NotForm),
        ["multipart/form-data"] = new("", () => new MultipartFormDataContent { { new StringContent("x"), "token" } }, ErrorCatalog.NotForm),
        ["text/plain"] = new("", () => Form("token=x", "text/plain"), ErrorCatalog.NotForm),
        ["form media type as a prefix"] = new("", () => Form("token=x", "application/x-www-form-urlencodedx"), ErrorCatalog.NotForm),
        ["unparseable Content-Type"] = new("", () => Form("token=x", "application/x-www-form-urlencoded; =utf-8"), ErrorCatalog.NotForm),
        ["charset without a value"] = new("", () => Form("token=x", "application/x-www-form-urlencoded; charset"), ErrorCatalog.UnsupportedCharset),
        ["charset=utf-16 with a UTF-16 body"] = new("", () => Raw(Encoding.Unicode.GetBytes("token=x"), "application/x-www-form-urlencoded; charset=utf-16"), ErrorCatalog.UnsupportedCharset),
        ["charset=iso-8859-1"] = new("", () => Form("token=x", "application/x-www-form-urlencoded; charset=iso-8859-1"), ErrorCatalog.UnsupportedCharset),
        ["charset=utf8 (not a charset name)"] = new("", () => Form("token=x", "application/x-www-form-urlencoded; charset=utf8"), ErrorCatalog.UnsupportedCharset),
        ["UTF-16 body without a charset"] = new("", () => Raw(Encoding.Unicode.GetBytes("token=x"), "application/x-www-form-urlencoded"), ErrorCatalog.FormMalformed),
        ["raw bytes that are not UTF-8"] = new("", () => Raw([.. "token=a"u8, 0xC3, 0x28], "application/x-www-form-urlencoded"), ErrorCatalog.FormNotUtf8),
        ["UTF-16 byte order mark"] = new("", () => Raw([0xFF, 0xFE, .. Encoding.Unicode.GetBytes("token=x")], "application/x-www-form-urlencoded"), ErrorCatalog.FormNotUtf8),
        ["percent-encoded bytes that are not UTF-8"] = new("", () => Form("token=%FF%FEx"), ErrorCatalog.FormNotUtf8),
        ["percent-encoded overlong UTF-8"] = new("", () => Form("token=%C0%AF"), ErrorCatalog.FormNotUtf8),
        ["bad percent escape"] = new("", () => Form("token=%ZZ"), ErrorCatalog.FormMalformed),
        ["truncated percent escape"] = new("", () => Form("token=ab%4"), ErrorCatalog.FormMalformed),
        ["percent-encoded NUL"] = new("", () => Form("token=a%00b"), ErrorCatalog.FormMalformed),
        ["empty parameter name"] = new("", () => Form("=x"), ErrorCatalog.FormMalformed),
        ["parameter name too long"] = new("", () => Form(new string('n', 65) + "=x"), ErrorCatalog.FormMalformed),
        ["parameter sent twice"] = new("", () => Form("token=a&token=b"), ErrorCatalog.DuplicateParameter),
        ["unknown parameter sent twice"] = new("", () => Form("token=a&x=1&x=1"), ErrorCatalog.DuplicateParameter),
        ["33 parameters"] = new("", () => Form(string.Join('&', Enumerable.Range(0, 33).Select(i => $"p{i}=v"))), ErrorCatalog.TooManyParameters),
        ["body over the size limit"] = new("", () => Form("token=" + new string('t', 40 * 1024)), ErrorCatalog.FormTooLarge),
        ["chunked body over the size limit"] = new("", () => Chunked("token=" + new string('t', 40 * 1024)), ErrorCatalog.FormTooLarge),
    };

    public static TheoryData<string, string> BadInputs
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var endpoint in Endpoints)
            {
                foreach (var name in Cases.Keys)
                {
                    data.Add(endpoint, name);
                }
            }

            return data;
        }
    }

    public static TheoryData<string, string> OtherMethods
    {
        get
        {
            var data = new TheoryData<string, string>();
            foreach (var endpoint in Endpoints)
            {
                foreach (var method in new[] { "GET", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "BREW" })
                {
                    data.Add(endpoint, method);
                }
            }

            return data;
        }
    }

    [Fact]
    public void Cases_EachExpectsADistinctReason_AllInvalidRequest()
    {
        Assert.True(Cases.Count >= 20, $"{Cases.Count} cases");
        Assert.All(Cases.Values, c => Assert.Equal(OAuthErrors.InvalidRequest, c.Expected.Error));
        Assert.Equal(9, Cases.Values.Select(c => c.Expected.Reason).Distinct().Count());
        Assert.Equal(9, Cases.Values.Select(c => c.Expected.Description).Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task Post_BadForm_IsRefusedWithItsReason_NotCached_AndAtTheTokenEndpointAuditedOnce(string endpoint, string name)
    {
        // Arrange
        var @case = Cases[name];
        var auditBefore = fixture.Host.AuditTrail.Count;
        var allowedBefore = fixture.AllowedCount;
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint + @case.Query) { Content = @case.Content() };
        Authenticate(request, endpoint);

        // Act
        using var response = await fixture.Host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(@case.Expected.StatusCode, (int)response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var json = JsonDocument.Parse(body);
        Assert.Equal(@case.Expected.Error, json.RootElement.GetProperty("error").GetString());
        Assert.Equal(@case.Expected.Description, json.RootElement.GetProperty("error_description").GetString());
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        Assert.Equal(allowedBefore, fixture.AllowedCount);
        if (endpoint == "/oauth2/token")
        {
            var audited = Assert.Single(fixture.Host.AuditTrail.Skip(auditBefore));
            Assert.Equal(AuditEventTypes.TokenExchange, audited.Type);
            Assert.Equal(AuditOutcome.Denied, audited.Outcome);
            Assert.Equal(@case.Expected.Reason, audited.Reason);
            Assert.Null(audited.Subject);
            Assert.Null(audited.Tenant);
        }
        else
        {
            Assert.Equal(auditBefore, fixture.Host.AuditTrail.Count);
        }
    }

    [Theory]
    [MemberData(nameof(OtherMethods))]
    public async Task OtherMethod_Is405WithAllowPost_AndTheJsonError(string endpoint, string method)
    {
        // Arrange
        var auditBefore = fixture.Host.AuditTrail.Count;
        using var request = new HttpRequestMessage(new HttpMethod(method), endpoint + "?token=eyJhbGciOiJFUzI1NiJ9.e30.c2ln");
        Authenticate(request, endpoint);

        // Act
        using var response = await fixture.Host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        // Assert
        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["POST"], response.Content.Headers.Allow);
        Assert.Equal("no-store", response.Headers.CacheControl?.ToString());
        if (method == "HEAD")
        {
            // RFC 9110 §9.3.2: the same headers as GET, no content.
            Assert.Empty(body);
        }
        else
        {
            using var json = JsonDocument.Parse(body);
            Assert.Equal(OAuthErrors.InvalidRequest, json.RootElement.GetProperty("error").GetString());
            Assert.Equal(ErrorCatalog.MethodNotAllowed.Description, json.RootElement.GetProperty("error_description").GetString());
        }

        if (endpoint == "/oauth2/token")
        {
            var audited = Assert.Single(fixture.Host.AuditTrail.Skip(auditBefore));
            Assert.Equal(ErrorCatalog.MethodNotAllowed.Reason, audited.Reason);
        }
        else
        {
            Assert.Equal(auditBefore, fixture.Host.AuditTrail.Count);
        }
    }

    [Theory]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/x-www-form-urlencoded; charset=utf-8")]
    [InlineData("APPLICATION/X-WWW-FORM-URLENCODED; CHARSET=UTF-8")]
    [InlineData("application/x-www-form-urlencoded; charset=\"utf-8\"")]
    public async Task TokenEndpoint_Utf8FormInAnySpelling_IsExchanged(string contentType)
    {
        // Arrange
        var form = string.Join('&', ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader")).Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));

        // Act
        using var response = await fixture.Host.Client.PostAsync("/oauth2/token", Form(form, contentType));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task TokenEndpoint_PlusAndPercentEscapes_AreDecoded()
    {
        // Arrange: '+' is a space (scope " invoices.read "), %2F is '/' (task "task/42").
        var request = ExchangeFixture.Request(fixture.Acme.Svid("/agents/reader"));
        request.Remove("scope");
        request.Remove("task_id");
        var form = string.Join('&', request.Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value)}")) + "&scope=+invoices.read+&task_id=task%2F42";
        var auditBefore = fixture.Host.AuditTrail.Count;

        // Act
        using var response = await fixture.Host.Client.PostAsync("/oauth2/token", Form(form));

        // Assert
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var issued = Assert.Single(fixture.Host.AuditTrail.Skip(auditBefore));
        Assert.Equal("task/42", issued.TaskId);
        Assert.Equal(["invoices.read"], issued.GrantedCapabilities);
    }

    /// <summary>Introspection callers authenticate first; a valid caller reaches the form.</summary>
    private void Authenticate(HttpRequestMessage request, string endpoint)
    {
        if (endpoint == "/oauth2/introspect")
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/mcp/invoices"));
        }
    }

    private static ChunkedContent Chunked(string body) => new(Encoding.UTF8.GetBytes(body));

    /// <summary>A body of unknown length, so it is sent chunked and the limit is met while reading.</summary>
    private sealed class ChunkedContent : HttpContent
    {
        private readonly byte[] _body;

        public ChunkedContent(byte[] body)
        {
            _body = body;
            Headers.ContentType = new MediaTypeHeaderValue("application/x-www-form-urlencoded");
        }

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            for (var offset = 0; offset < _body.Length; offset += 4096)
            {
                await stream.WriteAsync(_body.AsMemory(offset, Math.Min(4096, _body.Length - offset)));
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
