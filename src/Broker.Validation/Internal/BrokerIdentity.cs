// Broker.Validation — resource servers honour broker tokens.

using System.Security.Claims;

namespace Broker.Validation.Internal;

/// <summary>
/// The identity of a validated broker token: the token's claims plus the parsed <see cref="BrokerCaller"/>, so the
/// caller travels with the <see cref="ClaimsPrincipal"/> wherever ASP.NET Core or the MCP SDK hands it on.
/// </summary>
internal sealed class BrokerIdentity : ClaimsIdentity
{
    public BrokerIdentity(ClaimsIdentity validated, BrokerCaller caller)
        : base(validated)
    {
        Caller = caller;
    }

    private BrokerIdentity(BrokerIdentity other)
        : base(other)
    {
        Caller = other.Caller;
    }

    public BrokerCaller Caller { get; }

    public override ClaimsIdentity Clone() => new BrokerIdentity(this);
}
