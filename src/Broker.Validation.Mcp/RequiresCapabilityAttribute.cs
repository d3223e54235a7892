// Broker.Validation — resource servers honour broker tokens.

namespace Broker.Validation.Mcp;

/// <summary>
/// Declares a broker capability an MCP tool needs. On a tool method, or on its class for every tool in it; several
/// attributes mean every one of them is needed. A caller whose token lacks one does not see the tool in
/// <c>tools/list</c>, and calling it is answered 403 <c>insufficient_scope</c> naming everything the tool needs.
/// Align the names with the capability's <c>tools:</c> in the broker's policy.
/// </summary>
[AttributeUsage(AttributeTargets.Method | AttributeTargets.Class, AllowMultiple = true, Inherited = true)]
public sealed class RequiresCapabilityAttribute : Attribute
{
    /// <summary>Declares that the tool needs <paramref name="capability"/>.</summary>
    public RequiresCapabilityAttribute(string capability)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(capability);
        Capability = capability;
    }

    /// <summary>The capability name (an RFC 6749 scope token), e.g. <c>files.write</c>.</summary>
    public string Capability { get; }
}
