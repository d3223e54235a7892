// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation;

/// <summary>Names shared by the broker-token authentication scheme and its challenges.</summary>
public static class BrokerTokenDefaults
{
    /// <summary>The default authentication scheme name: <c>BrokerToken</c>.</summary>
    public const string AuthenticationScheme = "BrokerToken";

    /// <summary>RFC 9728 §3: the well-known path of protected resource metadata.</summary>
    public const string ResourceMetadataPath = "/.well-known/oauth-protected-resource";

    /// <summary>RFC 8414 §3: the well-known path of authorization server metadata.</summary>
    public const string AuthorizationServerMetadataPath = "/.well-known/oauth-authorization-server";

    /// <summary>RFC 9068 §2.1: the JOSE <c>typ</c> of a JWT access token.</summary>
    public const string AccessTokenType = "at+jwt";
}
