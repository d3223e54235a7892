using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Broker.IntegrationTests.Exchange;

namespace Broker.IntegrationTests.Revocation;

/// <summary>
/// RFC 7009 with <c>revoke_task=true</c>: ending a whole task takes the subject's own workload credential.
/// Holding one of its tokens (as every MCP server it called does) is enough to revoke that token, never the task.
/// </summary>
public sealed class RevokeTaskTests(ExchangeFixture fixture) : IClassFixture<ExchangeFixture>
{
    private async Task<string> IssueAsync(string path, string task)
    {
        var form = ExchangeFixture.Request(fixture.Acme.Svid(path));
        form["task_id"] = task;
        var response = await fixture.ExchangeAsync(form);
        Assert.Equal(HttpStatusCode.OK, response.Status);
        return response.AccessToken;
    }

    private async Task<(HttpStatusCode Status, string? Challenge, string? Error)> RevokeAsync(string token, bool revokeTask, string? credential)
    {
        var form = new Dictionary<string, string> { ["token"] = token };
        if (revokeTask)
        {
            form["revoke_task"] = "true";
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/revoke") { Content = new FormUrlEncodedContent(form) };
        if (credential is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", credential);
        }

        using var response = await fixture.Host.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var error = body.Length > 0 && response.Content.Headers.ContentType?.MediaType == "application/json"
            ? JsonDocument.Parse(body).RootElement.GetProperty("error").GetString()
            : null;
        return (response.StatusCode, response.Headers.WwwAuthenticate.ToString(), error);
    }

    private async Task<bool> IsActiveAsync(string token)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/oauth2/introspect")
        {
            Content = new FormUrlEncodedContent(new Dictionary<string, string> { ["token"] = token }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", fixture.Acme.Svid("/mcp/invoices"));
        using var response = await fixture.Host.Client.SendAsync(request);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return body.RootElement.GetProperty("active").GetBoolean();
    }

    [Theory]
    [InlineData("none")]          // the holder alone, e.g. an MCP server that received the token
    [InlineData("garbage")]       // a credential that does not validate
    [InlineData("capability")]    // the capability token itself is not the subject's credential
    public async Task RevokeTask_WithoutTheSubjectsCredential_Is401_AndNothingIsRevoked(string credential)
    {
        // Arrange: two grants of the subject in one task.
        var task = "t-" + Guid.NewGuid().ToString("N");
        var first = await IssueAsync("/agents/reader", task);
        var second = await IssueAsync("/agents/reader", task);

        // Act
        var (status, challenge, error) = await RevokeAsync(first, revokeTask: true, credential switch
        {
            "garbage" => "not-a-token",
            "capability" => first,
            _ => null,
        });

        // Assert: the caller learns the task is still live.
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Equal("Bearer error=\"invalid_token\"", challenge);
        Assert.Equal("invalid_token", error);
        Assert.True(await IsActiveAsync(first));
        Assert.True(await IsActiveAsync(second));
    }

    [Fact]
    public async Task RevokeTask_AnotherWorkloadsCredential_Is403_AndNothingIsRevoked()
    {
        // Arrange: the MCP server holds the agent's token and has a valid identity of its own, in the same tenant.
        var task = "t-" + Guid.NewGuid().ToString("N");
        var token = await IssueAsync("/agents/reader", task);

        // Act
        var (status, challenge, error) = await RevokeAsync(token, revokeTask: true, fixture.Acme.Svid("/mcp/invoices"));

        // Assert
        Assert.Equal(HttpStatusCode.Forbidden, status);
        Assert.Equal("Bearer error=\"insufficient_scope\"", challenge);
        Assert.Equal("insufficient_scope", error);
        Assert.True(await IsActiveAsync(token));
    }

    [Fact]
    public async Task RevokeTask_TheSubjectsOwnCredential_EndsItsGrantsInTheTask_AndNoOneElses()
    {
        // Arrange
        var task = "t-" + Guid.NewGuid().ToString("N");
        var first = await IssueAsync("/agents/reader", task);
        var second = await IssueAsync("/agents/reader", task);
        var someoneElses = await IssueAsync("/agents/other", task);
        var otherTask = await IssueAsync("/agents/reader", "t-" + Guid.NewGuid().ToString("N"));

        // Act
        var (status, _, _) = await RevokeAsync(first, revokeTask: true, fixture.Acme.Svid("/agents/reader"));

        // Assert
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(await IsActiveAsync(first));
        Assert.False(await IsActiveAsync(second));
        Assert.True(await IsActiveAsync(someoneElses));
        Assert.True(await IsActiveAsync(otherTask));
    }

    [Fact]
    public async Task RevokeOneToken_StaysOpenToItsHolder()
    {
        var task = "t-" + Guid.NewGuid().ToString("N");
        var token = await IssueAsync("/agents/reader", task);
        var sibling = await IssueAsync("/agents/reader", task);

        var (status, _, _) = await RevokeAsync(token, revokeTask: false, credential: null);

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.False(await IsActiveAsync(token));
        Assert.True(await IsActiveAsync(sibling));
    }

    [Fact]
    public async Task RevokeTask_OwnerCredentialButInvalidToken_Is200AndNothingHappens()
    {
        var (status, _, _) = await RevokeAsync("garbage", revokeTask: true, fixture.Acme.Svid("/agents/reader"));

        Assert.Equal(HttpStatusCode.OK, status);
    }
}
