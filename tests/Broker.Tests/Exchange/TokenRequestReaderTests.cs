using Broker.Errors;
using Broker.Exchange;
using Broker.Policy;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Broker.Tests.Exchange;

public sealed class TokenRequestReaderTests
{
    private const string JwtBearer = "urn:ietf:params:oauth:grant-type:jwt-bearer";
    private const string Assertion = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";

    private static readonly ExchangeOptions Options = new();

    private static Dictionary<string, StringValues> Bearer() => new(StringComparer.Ordinal)
    {
        ["grant_type"] = JwtBearer,
        ["assertion"] = Assertion,
        ["resource"] = "https://mcp.example.test/mcp",
        ["scope"] = "files.read files.read tickets.read",
    };

    private static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(Dictionary<string, StringValues> form) =>
        TokenRequestReader.Read(new FormCollection(form), Options, maxTokenLength: 64);

    [Fact]
    public void Read_JwtBearer_IsTheExchangesRequest_WithTheAssertionAsItsSubjectToken()
    {
        // Act
        var (request, error) = Read(Bearer());

        // Assert
        Assert.Null(error);
        Assert.NotNull(request);
        Assert.True(request.IsJwtBearer);
        Assert.Equal(JwtBearer, request.GrantType);
        Assert.Equal(Assertion, request.SubjectToken);
        Assert.Equal("urn:ietf:params:oauth:token-type:jwt", request.SubjectTokenType);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", request.RequestedTokenType);
        Assert.Equal("https://mcp.example.test/mcp", request.Resource);
        Assert.Equal(["files.read", "tickets.read"], request.Capabilities);
        Assert.Null(request.ActorToken);
        Assert.Null(request.TaskId);
        Assert.Equal(Grammar.NoPurpose, request.Purpose);
        Assert.Null(request.RequestedLifetime);
    }

    [Fact]
    public void Read_JwtBearerWithTaskContext_KeepsIt()
    {
        var form = Bearer();
        form["task_id"] = "t-1";
        form["purpose"] = "triage";
        form["expires_in"] = "60";

        var (request, _) = Read(form);

        Assert.Equal(("t-1", "triage", TimeSpan.FromSeconds(60)), (request!.TaskId, request.Purpose, request.RequestedLifetime));
    }

    [Fact]
    public void Read_TokenExchange_IsNotJwtBearer()
    {
        var form = new Dictionary<string, StringValues>(StringComparer.Ordinal)
        {
            ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
            ["subject_token"] = Assertion,
            ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
            ["audience"] = "crm",
            ["scope"] = "crm.read",
            ["task_id"] = "t-1",
            ["purpose"] = "triage",
        };

        var (request, error) = Read(form);

        Assert.Null(error);
        Assert.False(request!.IsJwtBearer);
        Assert.Equal("urn:ietf:params:oauth:token-type:access_token", request.RequestedTokenType);
    }

    [Theory]
    [InlineData("grant_type", null, "request.missing_grant_type")]
    [InlineData("grant_type", "urn:ietf:params:oauth:grant-type:saml2-bearer", "request.unsupported_grant_type")]
    [InlineData("grant_type", "URN:IETF:PARAMS:OAUTH:GRANT-TYPE:JWT-BEARER", "request.unsupported_grant_type")]
    [InlineData("assertion", null, "request.missing_assertion")]
    [InlineData("assertion", "", "request.missing_assertion")]
    [InlineData("assertion", "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eHh4eCJ9.c2ln", "request.assertion_too_large")]
    [InlineData("subject_token", Assertion, "request.jwt_bearer_subject_token")]
    [InlineData("subject_token_type", "urn:ietf:params:oauth:token-type:jwt", "request.jwt_bearer_subject_token")]
    [InlineData("actor_token", Assertion, "request.jwt_bearer_actor_token")]
    [InlineData("actor_token_type", "urn:ietf:params:oauth:token-type:jwt", "request.jwt_bearer_actor_token")]
    [InlineData("requested_token_type", "urn:ietf:params:oauth:token-type:jwt", "request.jwt_bearer_requested_token_type")]
    [InlineData("resource", null, "request.missing_target")]
    [InlineData("resource", "http://mcp.example.test/mcp", "request.malformed_resource")]
    [InlineData("scope", null, "request.missing_scope")]
    [InlineData("task_id", "a b", "request.malformed_task_id")]
    [InlineData("purpose", Grammar.NoPurpose, "request.malformed_purpose")]
    [InlineData("expires_in", "-1", "request.malformed_expires_in")]
    public void Read_JwtBearer_BadParameter_IsRefusedWithItsReason(string name, string? value, string reason)
    {
        // Arrange
        var form = Bearer();
        if (value is null)
        {
            form.Remove(name);
        }
        else
        {
            form[name] = value;
        }

        // Act
        var (request, error) = Read(form);

        // Assert
        Assert.Null(request);
        Assert.Equal(reason, error!.Reason);
    }

    [Theory]
    [InlineData("subject_token", "", true)]
    [InlineData("assertion", Assertion, false)]
    public void PresentedToken_IsTheCredentialOfTheGrant(string otherName, string otherValue, bool jwtBearer)
    {
        var form = new Dictionary<string, StringValues>(StringComparer.Ordinal)
        {
            ["grant_type"] = jwtBearer ? JwtBearer : "urn:ietf:params:oauth:grant-type:token-exchange",
            [jwtBearer ? "assertion" : "subject_token"] = "credential",
            [otherName] = otherValue,
        };

        Assert.Equal("credential", TokenRequestReader.PresentedToken(new FormCollection(form)));
    }
}
