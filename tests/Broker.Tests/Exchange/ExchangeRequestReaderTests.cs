using Broker.Errors;
using Broker.Exchange;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Broker.Tests.Exchange;

/// <summary>
/// The RFC 8693 form checks, in their order: each bad input answers its own catalog entry and nothing else, and a
/// good form becomes the request the pipeline runs on.
/// </summary>
public sealed class ExchangeRequestReaderTests
{
    private const string Jwt = "urn:ietf:params:oauth:token-type:jwt";
    private const string AccessToken = "urn:ietf:params:oauth:token-type:access_token";
    private const string Token = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln";
    private const int MaxTokenLength = 64;

    private static readonly ExchangeOptions Options = new();

    private static Dictionary<string, StringValues> Exchange() => new(StringComparer.Ordinal)
    {
        ["grant_type"] = "urn:ietf:params:oauth:grant-type:token-exchange",
        ["subject_token"] = Token,
        ["subject_token_type"] = Jwt,
        ["resource"] = "https://mcp.example.test/mcp",
        ["scope"] = "files.read tickets.read files.read",
        ["task_id"] = "task-1",
        ["purpose"] = "triage-inbox",
    };

    private static (TokenExchangeRequest? Request, ErrorDescriptor? Error) Read(Dictionary<string, StringValues> form) =>
        ExchangeRequestReader.Read(new FormCollection(form), Options, MaxTokenLength);

    [Fact]
    public void Read_WellFormedExchange_IsTheRequest()
    {
        // Arrange
        var form = Exchange();
        form["actor_token"] = Token;
        form["actor_token_type"] = "urn:ietf:params:oauth:token-type:id_token";
        form["expires_in"] = "120";

        // Act
        var (request, error) = Read(form);

        // Assert
        Assert.Null(error);
        Assert.NotNull(request);
        Assert.False(request.IsJwtBearer);
        Assert.Equal(Token, request.SubjectToken);
        Assert.Equal(Jwt, request.SubjectTokenType);
        Assert.Equal(Token, request.ActorToken);
        Assert.Equal("https://mcp.example.test/mcp", request.Resource);
        Assert.Null(request.Audience);
        Assert.Equal(["files.read", "tickets.read"], request.Capabilities);
        Assert.Equal(AccessToken, request.RequestedTokenType);
        Assert.Equal(("task-1", "triage-inbox"), (request.TaskId, request.Purpose));
        Assert.Equal(TimeSpan.FromSeconds(120), request.RequestedLifetime);
    }

    [Theory]
    [InlineData(AccessToken)]
    [InlineData("urn:ietf:params:oauth:token-type:id_token")]
    [InlineData("urn:broker:params:oauth:token-type:x509-svid")]
    public void Read_OtherSubjectTokenTypes_AreAccepted(string type)
    {
        var form = Exchange();
        form["subject_token_type"] = type;

        var (request, error) = Read(form);

        Assert.Null(error);
        Assert.Equal(type, request!.SubjectTokenType);
    }

    [Fact]
    public void Read_TokenOfExactlyTheLimit_IsAccepted_OneMoreIsNot()
    {
        var form = Exchange();
        form["subject_token"] = new string('a', MaxTokenLength);
        Assert.Null(Read(form).Error);

        form["subject_token"] = new string('a', MaxTokenLength + 1);
        Assert.Equal(ErrorCatalog.SubjectTokenTooLarge, Read(form).Error);
    }

    public static TheoryData<string, string?, string> BadForms => new()
    {
        // Parameter, value (null: removed), the reason of the one error (reasons are unique); in the order the reader checks.
        { "subject_token", null, ErrorCatalog.MissingSubjectToken.Reason },
        { "subject_token", "", ErrorCatalog.MissingSubjectToken.Reason },
        { "subject_token", new string('x', MaxTokenLength + 1), ErrorCatalog.SubjectTokenTooLarge.Reason },
        { "subject_token_type", null, ErrorCatalog.MissingSubjectTokenType.Reason },
        { "subject_token_type", "urn:ietf:params:oauth:token-type:saml2", ErrorCatalog.UnsupportedSubjectTokenType.Reason },
        { "subject_token_type", "URN:IETF:PARAMS:OAUTH:TOKEN-TYPE:JWT", ErrorCatalog.UnsupportedSubjectTokenType.Reason },
        { "actor_token_type", Jwt, ErrorCatalog.ActorTokenTypeWithoutToken.Reason },
        { "actor_token", Token, ErrorCatalog.ActorTokenWithoutType.Reason },
        { "requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token", ErrorCatalog.UnsupportedRequestedTokenType.Reason },
        { "resource", null, ErrorCatalog.MissingTarget.Reason },
        { "resource", "not a uri", ErrorCatalog.MalformedResource.Reason },
        { "scope", null, ErrorCatalog.MissingScope.Reason },
        { "scope", "files.read bad\u0001scope", ErrorCatalog.MalformedScope.Reason },
        { "task_id", null, ErrorCatalog.MissingTaskId.Reason },
        { "task_id", "task\nwith a newline", ErrorCatalog.MalformedTaskId.Reason },
        { "purpose", null, ErrorCatalog.MissingPurpose.Reason },
        { "purpose", "line\u0000break", ErrorCatalog.MalformedPurpose.Reason },
        { "expires_in", "-5", ErrorCatalog.MalformedExpiresIn.Reason },
        { "expires_in", "soon", ErrorCatalog.MalformedExpiresIn.Reason },
    };

    [Theory]
    [MemberData(nameof(BadForms))]
    public void Read_BadForm_AnswersItsOneError_AndNoRequest(string parameter, string? value, string expectedReason)
    {
        // Arrange
        var form = Exchange();
        if (value is null)
        {
            form.Remove(parameter);
        }
        else
        {
            form[parameter] = value;
        }

        // Act
        var (request, error) = Read(form);

        // Assert
        Assert.Null(request);
        Assert.Equal(expectedReason, error?.Reason);
    }

    [Fact]
    public void Read_ActorTokenTooLarge_OrOfAnUnsupportedType_IsRefused()
    {
        var form = Exchange();
        form["actor_token"] = new string('a', MaxTokenLength + 1);
        form["actor_token_type"] = Jwt;
        Assert.Equal(ErrorCatalog.ActorTokenTooLarge, Read(form).Error);

        // An X509-SVID is a subject over mTLS only: an actor presents a token.
        form["actor_token"] = Token;
        form["actor_token_type"] = "urn:broker:params:oauth:token-type:x509-svid";
        Assert.Equal(ErrorCatalog.UnsupportedActorTokenType, Read(form).Error);
    }

    [Fact]
    public void Read_TwoResources_AreMultipleTargets_OneResourceAndOneAudienceAreNot()
    {
        // RFC 8707 §2 lets resource repeat; a token is issued for one.
        var form = Exchange();
        form["resource"] = new StringValues(["https://mcp.example.test/mcp", "https://other.example.test/mcp"]);
        Assert.Equal(ErrorCatalog.MultipleTargets, Read(form).Error);

        form = Exchange();
        form["audience"] = "https://other.example.test";
        var (request, error) = Read(form);
        Assert.Null(error);
        Assert.Equal(("https://mcp.example.test/mcp", "https://other.example.test"), (request!.Resource, request.Audience));
    }

    [Fact]
    public void Read_FirstFailingCheckWins()
    {
        // Both the subject token type and the scope are wrong: the earlier check answers.
        var form = Exchange();
        form["subject_token_type"] = "urn:example:unknown";
        form.Remove("scope");

        Assert.Equal(ErrorCatalog.UnsupportedSubjectTokenType, Read(form).Error);
    }

    [Fact]
    public void Read_JwtAsRequestedTokenType_IsASynonymForAccessToken()
    {
        var form = Exchange();
        form["requested_token_type"] = Jwt;

        var (request, error) = Read(form);

        Assert.Null(error);
        Assert.Equal(Jwt, request!.RequestedTokenType);
    }

    [Fact]
    public void Read_NullArguments_Throw()
    {
        Assert.Throws<ArgumentNullException>(() => ExchangeRequestReader.Read(null!, Options, MaxTokenLength));
        Assert.Throws<ArgumentNullException>(() => ExchangeRequestReader.Read(new FormCollection([]), null!, MaxTokenLength));
    }
}
