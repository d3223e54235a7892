using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Broker.Cli.Output;
using Broker.Contracts.Admin;

namespace Broker.Cli.Api;

/// <summary>
/// Speaks the admin API (<c>/admin/v1</c>, docs/admin.md) and turns every answer into an
/// <see cref="ApiResult{T}"/>: callers never see an HTTP exception or status code.
/// </summary>
internal sealed partial class AdminApiClient : IDisposable
{
    private const int MaxDescriptionLength = 512;

    // --all reads page after page; no single answer of the admin API comes near this.
    private const int MaxResponseBytes = 32 * 1024 * 1024;

    private readonly HttpClient _http;
    private readonly BrokerConnection _connection;

    public AdminApiClient(BrokerConnection connection)
    {
        _connection = connection;
        _http = new HttpClient(new SocketsHttpHandler
        {
            // A redirect would carry the request somewhere the admin did not name; HttpClient drops the
            // Authorization header on redirects anyway, so following one could only fail confusingly.
            AllowAutoRedirect = false,
            ConnectTimeout = connection.Timeout,
        })
        {
            BaseAddress = connection.AdminBaseUri,
            Timeout = connection.Timeout,
            MaxResponseContentBufferSize = MaxResponseBytes,
        };
        _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", connection.Token);
        _http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        _http.DefaultRequestHeaders.UserAgent.Add(new ProductInfoHeaderValue("brokerctl", typeof(AdminApiClient).Assembly.GetName().Version?.ToString(3)));
    }

    // GET /admin/v1/grants/{grant_id}
    public Task<ApiResult<GrantView>> GetGrantAsync(string grantId, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, $"grants/{Uri.EscapeDataString(grantId)}"), AdminApiJsonContext.Default.GrantView, cancellationToken);

    // GET /admin/v1/grants?tenant=…[&subject=…|&task_id=…][&consumer_tenant=…|&shared_by=…][&limit=…][&cursor=…]
    public Task<ApiResult<GrantListView>> ListGrantsAsync(string tenant, string? subject, string? taskId, int? limit, string? cursor, CancellationToken cancellationToken, string? consumerTenant = null, string? sharedBy = null)
    {
        var query = Query(
            ("tenant", tenant), ("subject", subject), ("task_id", taskId), ("consumer_tenant", consumerTenant), ("shared_by", sharedBy),
            ("limit", limit?.ToString(CultureInfo.InvariantCulture)), ("cursor", cursor));
        return SendAsync(new HttpRequestMessage(HttpMethod.Get, "grants" + query), AdminApiJsonContext.Default.GrantListView, cancellationToken);
    }

    // POST /admin/v1/grants/{grant_id}/revoke
    public Task<ApiResult<RevokeView>> RevokeAsync(string grantId, string reason, CancellationToken cancellationToken) =>
        SendAsync(
            new HttpRequestMessage(HttpMethod.Post, $"grants/{Uri.EscapeDataString(grantId)}/revoke")
            {
                Content = JsonContent.Create(new RevokeRequest(reason), AdminApiJsonContext.Default.RevokeRequest),
            },
            AdminApiJsonContext.Default.RevokeView,
            cancellationToken);

    // POST /admin/v1/grants/revoke
    public Task<ApiResult<BulkRevokeView>> RevokeManyAsync(string tenant, string? subject, string? taskId, string reason, CancellationToken cancellationToken, string? consumerTenant = null, string? sharedBy = null) =>
        SendAsync(
            new HttpRequestMessage(HttpMethod.Post, "grants/revoke")
            {
                Content = JsonContent.Create(
                    new BulkRevokeRequest(tenant, subject, taskId, reason) { ConsumerTenant = consumerTenant, SharedBy = sharedBy },
                    AdminApiJsonContext.Default.BulkRevokeRequest),
            },
            AdminApiJsonContext.Default.BulkRevokeView,
            cancellationToken);

    // GET /admin/v1/audit[?tenant=…][&limit=…]
    public Task<ApiResult<AuditPage>> GetAuditAsync(string? tenant, int? limit, CancellationToken cancellationToken)
    {
        var query = Query(("tenant", tenant), ("limit", limit?.ToString(CultureInfo.InvariantCulture)));
        return SendAsync(new HttpRequestMessage(HttpMethod.Get, "audit" + query), AdminJsonContext.Default.AuditPage, cancellationToken);
    }

    // GET /admin/v1/keys
    public Task<ApiResult<KeyListView>> ListKeysAsync(CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Get, "keys"), AdminApiJsonContext.Default.KeyListView, cancellationToken);

    // POST /admin/v1/keys/rotate
    public Task<ApiResult<KeyRotationView>> RotateKeyAsync(CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, "keys/rotate"), AdminApiJsonContext.Default.KeyRotationView, cancellationToken);

    // POST /admin/v1/keys/{kid}/retire
    public Task<ApiResult<KeyRetirementView>> RetireKeyAsync(string kid, CancellationToken cancellationToken) =>
        SendAsync(new HttpRequestMessage(HttpMethod.Post, $"keys/{Uri.EscapeDataString(kid)}/retire"), AdminApiJsonContext.Default.KeyRetirementView, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task<ApiResult<T>> SendAsync<T>(HttpRequestMessage request, JsonTypeInfo<T> typeInfo, CancellationToken cancellationToken)
    {
        using var _ = request;
        HttpResponseMessage response;
        string body;
        try
        {
            response = await _http.SendAsync(request, cancellationToken);
            body = await response.Content.ReadAsStringAsync(cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            return Fail<T>(new ApiFailure.Unavailable($"cannot reach the broker at {_connection.BaseUri}: {ex.Message}"));
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            // HttpClient reports its own timeout as a cancellation the caller did not ask for.
            return Fail<T>(new ApiFailure.Unavailable(
                $"the broker at {_connection.BaseUri} did not answer within {_connection.Timeout.TotalSeconds:0} s"));
        }

        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                try
                {
                    if (JsonSerializer.Deserialize(body, typeInfo) is { } value)
                    {
                        return new ApiResult<T>.Ok(value, body);
                    }
                }
                catch (JsonException)
                {
                    // Falls through: not the admin API's JSON.
                }

                return Fail<T>(new ApiFailure.Unavailable(
                    $"the answer from {_connection.BaseUri} is not the admin API's JSON (is --broker the broker's URL?)"));
            }

            return Fail<T>(MapError(response, body));
        }
    }

    private static ApiFailure MapError(HttpResponseMessage response, string body)
    {
        var status = (int)response.StatusCode;
        var detail = $"{status} {Describe(body) ?? response.ReasonPhrase ?? "error"}";
        if (status is >= 300 and < 400)
        {
            return new ApiFailure.Refused(
                $"the broker redirected to {response.Headers.Location?.ToString() ?? "another location"} ({status}); brokerctl does not follow redirects, pass the final URL as --broker");
        }

        if (response.StatusCode is HttpStatusCode.Unauthorized)
        {
            return new ApiFailure.NotAuthorized($"authentication failed: {detail}");
        }

        if (response.StatusCode is HttpStatusCode.Forbidden)
        {
            return new ApiFailure.NotAuthorized($"not authorised: {detail}");
        }

        if (status >= 500)
        {
            var retry = response.Headers.RetryAfter?.Delta is { } delta
                ? $" (retry after {delta.TotalSeconds:0} s)"
                : "";
            return new ApiFailure.Unavailable($"the broker is unavailable: {detail}{retry}");
        }

        return new ApiFailure.Refused($"the broker refused the request: {detail}");
    }

    /// <summary><c>error: error_description</c> from an error body, or null when it is not one.</summary>
    private static string? Describe(string body)
    {
        ApiError? error;
        try
        {
            error = JsonSerializer.Deserialize(body, AdminJsonContext.Default.ApiError);
        }
        catch (JsonException)
        {
            return null;
        }

        if (error?.Error is not { Length: > 0 } code)
        {
            return null;
        }

        var text = error.ErrorDescription is { Length: > 0 } description ? $"{code}: {description}" : code;
        return Text.Truncate(Text.Printable(text), MaxDescriptionLength);
    }

    private static string Query(params (string Name, string? Value)[] parameters)
    {
        var query = new StringBuilder();
        foreach (var (name, value) in parameters)
        {
            if (value is not null)
            {
                query.Append(query.Length == 0 ? '?' : '&').Append(name).Append('=').Append(Uri.EscapeDataString(value));
            }
        }

        return query.ToString();
    }

    private static ApiResult<T>.Failed Fail<T>(ApiFailure failure) => new(failure);
}
