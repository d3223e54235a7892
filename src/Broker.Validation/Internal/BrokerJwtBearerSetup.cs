// Broker.Validation — resource servers honour broker tokens.

using Broker.Jose.DPoP;
using Broker.Validation.Revocation;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Internal;

/// <summary>The names of the authentication schemes registered with AddBrokerTokens.</summary>
internal sealed class BrokerSchemes
{
    public HashSet<string> Names { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Turns a scheme's <see cref="BrokerTokenOptions"/> into JwtBearer options: the validation parameters, our
/// configuration manager and our events. Applied after the application's own JwtBearer configuration, so the
/// security-relevant settings cannot be loosened by accident (post-configure).
/// </summary>
internal sealed class BrokerJwtBearerSetup(
    IOptions<BrokerSchemes> schemes,
    IOptionsMonitor<BrokerTokenOptions> brokerOptions,
    IHttpClientFactory httpClientFactory,
    IRevocationCheck revocation,
    IDPoPReplayCache replayCache,
    TimeProvider timeProvider,
    ILoggerFactory loggerFactory) : IPostConfigureOptions<JwtBearerOptions>
{
    public const string HttpClientName = "Broker.Validation";

    public void PostConfigure(string? name, JwtBearerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (name is null || !schemes.Value.Names.Contains(name))
        {
            return;
        }

        var broker = brokerOptions.Get(name);
        var logger = loggerFactory.CreateLogger("Broker.Validation");
        var metadata = new BrokerMetadataManager(broker, httpClientFactory.CreateClient(HttpClientName), timeProvider, logger);

        options.ConfigurationManager = metadata;
        options.Events = new BrokerTokenEvents(broker, metadata, revocation, new DPoPCheck(broker.DPoP, replayCache, timeProvider), timeProvider, logger);
        // The token must never be retrievable after validation (GetTokenAsync): nothing downstream may pass it on.
        options.SaveToken = false;
        options.MapInboundClaims = false;
        options.IncludeErrorDetails = false;
        options.RefreshOnIssuerKeyNotFound = false;
        options.TokenValidationParameters = new TokenValidationParameters
        {
            ValidIssuer = metadata.Issuer,
            // RFC 8707 §2 / MCP "Token Handling": the token must name this server, exactly.
            ValidAudience = broker.Resource,
            IgnoreTrailingSlashWhenValidatingAudience = false,
            // RFC 9068 §4: refuse JWTs that are not access tokens (an ID token, a JWT-SVID).
            ValidTypes = [BrokerTokenDefaults.AccessTokenType, "application/" + BrokerTokenDefaults.AccessTokenType],
            ValidAlgorithms = [SecurityAlgorithms.EcdsaSha256],
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            RequireAudience = true,
            ValidateLifetime = true,
            // Lifetime against the injected clock (TimeProvider), not DateTime.UtcNow.
            LifetimeValidator = new TokenLifetime(timeProvider).Validate,
            ClockSkew = broker.ClockSkew,
            // Keys are matched by kid alone; a token is never tried against every key.
            TryAllIssuerSigningKeys = false,
            SaveSigninToken = false,
            NameClaimType = "sub",
        };
    }
}
