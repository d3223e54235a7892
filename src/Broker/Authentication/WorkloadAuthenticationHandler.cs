using System.Text.Encodings.Web;
using Broker.Errors;
using Broker.Grants;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Subjects;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Broker.Authentication;

/// <summary>Options of the <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme; the token length bound is <c>Broker:Subjects:MaxTokenLength</c>.</summary>
internal sealed class WorkloadAuthenticationOptions : AuthenticationSchemeOptions;

/// <summary>
/// The <see cref="WorkloadAuthenticationDefaults.Scheme"/> scheme: a workload authenticates with its own
/// JWT-SVID or OIDC token as <c>Authorization: Bearer</c> (<see cref="BearerCredential"/>), validated by
/// <see cref="WorkloadAuthenticator"/>. Challenges and refusals are written by <see cref="ErrorWriter"/>:
/// 401 with <c>WWW-Authenticate: Bearer error="invalid_token"</c>, 403 <c>insufficient_scope</c>, 429 for an
/// address that keeps failing, 503 without policy or grant store; the JSON body names the route's catalog
/// entry (<see cref="WorkloadEndpointMetadata"/>).
/// </summary>
internal sealed class WorkloadAuthenticationHandler(
    IOptionsMonitor<WorkloadAuthenticationOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    IPolicyProvider policyProvider,
    WorkloadAuthenticator authenticator,
    FailedAuthenticationLimiter failures,
    AuthenticationAudit audit,
    IOptions<SubjectsOptions> subjects)
    : AuthenticationHandler<WorkloadAuthenticationOptions>(options, logger, encoder)
{
    private const string FailureKey = "broker.failure";
    private readonly int _maxTokenLength = subjects.Value.MaxTokenLength;

    /// <summary>Why <paramref name="result"/> failed; null when it did not fail.</summary>
    public static WorkloadAuthenticationFailure? FailureOf(AuthenticateResult? result) =>
        result?.Failure is not null ? result.Properties?.GetParameter<WorkloadAuthenticationFailure>(FailureKey) : null;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var address = Context.Connection.RemoteIpAddress;

        // :: Step 1. An address that keeps failing waits, before any work on what it sent.
        if (failures.IsBlocked(address, out var retryAfter))
        {
            return Fail(ErrorCatalog.AuthenticationRateLimited, retryAfter);
        }

        // :: Step 2. The credential, bounded before it is parsed. No Authorization header: not ours to
        // refuse here; the route's policy decides whether anonymous is enough.
        switch (BearerCredential.Read(Request, _maxTokenLength, out var token))
        {
            case BearerCredential.Status.None:
                return AuthenticateResult.NoResult();
            case BearerCredential.Status.Malformed:
                failures.RecordFailure(address);
                return Fail(ErrorCatalog.WorkloadMalformedCredential);
        }

        // :: Step 3. One policy snapshot for the whole request; none loaded yet means nobody can be placed.
        var policy = policyProvider.Current;
        if (policy is null)
        {
            return Fail(ErrorCatalog.PolicyUnavailable);
        }

        // :: Step 4. Validate and place. A validator that needs the grant store and cannot reach it is an
        // outage, not a bad credential: 503, and not counted against the caller.
        WorkloadAuthenticationResult result;
        try
        {
            result = await authenticator.AuthenticateAsync(token!, policy, Context.RequestAborted);
        }
        catch (GrantStoreUnavailableException)
        {
            return Fail(ErrorCatalog.StoreUnavailable);
        }

        if (result is WorkloadAuthenticationResult.Failed failed)
        {
            failures.RecordFailure(address);
            return Fail(failed.Reason);
        }

        var authenticated = (WorkloadAuthenticationResult.Authenticated)result;
        var principal = authenticated.Principal;
        if (authenticated.Identity is { } identity)
        {
            // Rules match on claims as well as identity: routes that evaluate rules (the catalog) read them here.
            Context.Features.Set(new WorkloadIdentityFeature(identity));
        }

        return AuthenticateResult.Success(new AuthenticationTicket(principal.ToClaimsPrincipal(Scheme.Name), Scheme.Name));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var metadata = Context.GetEndpoint()?.Metadata.GetMetadata<WorkloadEndpointMetadata>();
        var failure = FailureOf(await HandleAuthenticateOnceSafeAsync());
        if (failure is { IsOutageOrLimit: true })
        {
            if (failure.Error == ErrorCatalog.AuthenticationRateLimited)
            {
                failures.CountRefusal();
            }

            await ErrorWriter.WriteAsync(Context, failure.Error, Answer(failure.RetryAfter), Context.RequestAborted);
            return;
        }

        // The route's own words for a missing or refused credential; the precise reason goes to the audit trail only.
        var answer = metadata?.Unauthenticated ?? ErrorCatalog.WorkloadUnauthenticated;
        await audit.UnauthenticatedAsync(Context, metadata?.Action ?? Context.Request.Path.Value ?? "", failure?.Error ?? answer);
        await ErrorWriter.WriteAsync(Context, answer, Answer(null), Context.RequestAborted);
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        var metadata = Context.GetEndpoint()?.Metadata.GetMetadata<WorkloadEndpointMetadata>();
        return ErrorWriter.WriteAsync(Context, metadata?.Forbidden ?? ErrorCatalog.WorkloadForbidden, Answer(null), Context.RequestAborted);
    }

    private static ErrorResponseOptions Answer(TimeSpan? retryAfter) => retryAfter is { } delay
        ? RetryAfter.Options(delay, BearerCredential.Scheme)
        : new ErrorResponseOptions(Scheme: BearerCredential.Scheme);

    private static AuthenticateResult Fail(ErrorDescriptor error, TimeSpan? retryAfter = null)
    {
        var properties = new AuthenticationProperties();
        properties.SetParameter(FailureKey, new WorkloadAuthenticationFailure(error, retryAfter));
        return AuthenticateResult.Fail(error.Reason, properties);
    }
}

/// <summary>Why the scheme refused a request: the catalog entry, and how long to wait for a 429.</summary>
internal sealed record WorkloadAuthenticationFailure(ErrorDescriptor Error, TimeSpan? RetryAfter)
{
    /// <summary>
    /// True for a 429 or 503: answered as such. Anything else is a refused credential, answered 401 with the
    /// route's own words; the precise reason (a subject validation code) goes to the audit trail only.
    /// </summary>
    public bool IsOutageOrLimit => Error.StatusCode is StatusCodes.Status429TooManyRequests or StatusCodes.Status503ServiceUnavailable;
}

/// <summary>The validated identity behind the request's <see cref="WorkloadPrincipal"/>, with its claims.</summary>
/// <param name="Identity">The identity as the subject validators produced it.</param>
internal sealed record WorkloadIdentityFeature(WorkloadIdentity Identity);
