namespace Broker.Policy;

/// <summary>A governed MCP capability: a named set of tools on one MCP server.</summary>
public sealed class Capability
{
    /// <summary>The capability's name, a scope token (<see cref="Grammar.IsScopeToken"/>) unique in its tenant.</summary>
    public required string Name { get; init; }

    /// <summary>The tenant that declares it.</summary>
    public required string Tenant { get; init; }

    /// <summary>The MCP server's canonical resource URI (RFC 8707), if any.</summary>
    public string? Resource { get; init; }

    /// <summary>A logical audience name the MCP server also answers to, if any.</summary>
    public string? Audience { get; init; }

    /// <summary>The MCP tools the capability covers.</summary>
    public required IReadOnlyList<string> Tools { get; init; }

    /// <summary>No token for this capability lives longer.</summary>
    public required TimeSpan MaxLifetime { get; init; }

    /// <summary>Tokens for this capability must be sender-constrained (DPoP or mTLS).</summary>
    public bool RequireProofOfPossession { get; init; }

    /// <summary>Conditions every exchange of this capability must meet, whichever rule allows it (<c>caller:</c>); null for none.</summary>
    public CallerConditions? Caller { get; init; }
}

/// <summary>What a rule lets its subjects do with its capabilities.</summary>
[Flags]
public enum CapabilityPermissions
{
    /// <summary>Nothing.</summary>
    None = 0,

    /// <summary>See that the capability exists (catalog).</summary>
    Discover = 1,

    /// <summary>Obtain a token for it and call its tools.</summary>
    Execute = 2,

    /// <summary>Publish or change the capability (catalog).</summary>
    Publish = 4,
}
