// Broker.Validation — resource servers honour broker tokens.

using System.Security.Claims;
using Broker.Validation.Internal;
using Microsoft.AspNetCore.Http;

namespace Broker.Validation;

/// <summary>Reads the <see cref="BrokerCaller"/> of a request authenticated with a broker token.</summary>
public static class BrokerCallerExtensions
{
    /// <summary>The caller vouched for by a validated broker token, or null when the principal has none.</summary>
    public static BrokerCaller? GetBrokerCaller(this ClaimsPrincipal? principal) =>
        principal?.Identities.OfType<BrokerIdentity>().FirstOrDefault(i => i.IsAuthenticated)?.Caller;

    /// <summary>The caller of this request, or null when it was not authenticated with a broker token.</summary>
    public static BrokerCaller? GetBrokerCaller(this HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.User.GetBrokerCaller();
    }
}
