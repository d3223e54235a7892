// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.Client;

namespace Agent;

/// <summary>
/// Ends a task at the broker: <c>POST /oauth2/revoke</c> (RFC 7009) with <c>revoke_task=true</c> revokes every active
/// grant of the token's task that belongs to the agent, and with them the grants derived from them (docs/admin.md).
/// Because that is more than one token's rights, the broker wants the agent's own workload credential too, as
/// <c>Authorization: Bearer</c>. Broker.Client has no revocation call (yet), so the sample makes it itself.
/// </summary>
internal sealed class TaskEnd(HttpClient http, Uri revocationEndpoint)
{
    private const int MaxErrorBodyBytes = 16 * 1024;

    /// <summary>Null when the broker revoked the task's grants; otherwise why not.</summary>
    public async Task<string?> EndAsync(CapabilityToken token, SubjectToken credential, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, revocationEndpoint)
        {
            Content = new FormUrlEncodedContent(
            [
                new("token", token.AccessToken),
                new("token_type_hint", "access_token"),
                new("revoke_task", "true"),
            ]),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential.Token);
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        using var response = await WorkloadCredential.Send(() => http.SendAsync(request, cancellationToken), $"the broker at {revocationEndpoint}");

        // RFC 7009 §2.2: 200 whatever the token was; anything else means nothing was revoked, and the task is still live.
        if (response.StatusCode == HttpStatusCode.OK)
        {
            return null;
        }

        var body = await WorkloadCredential.ReadBoundedAsync(response, MaxErrorBodyBytes, cancellationToken);
        try
        {
            using var json = JsonDocument.Parse(body ?? string.Empty);
            if (json.RootElement.ValueKind == JsonValueKind.Object && json.RootElement.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.String)
            {
                var description = json.RootElement.TryGetProperty("error_description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
                return $"{Narrative.Printable(error.GetString(), 64)} (HTTP {(int)response.StatusCode}): {Narrative.Printable(description)}";
            }
        }
        catch (JsonException)
        {
            // Not the broker's error body (a proxy's page): the status says enough.
        }

        return $"HTTP {(int)response.StatusCode}";
    }
}
