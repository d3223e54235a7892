using System.Collections.Frozen;

namespace Broker.OAuth;

/// <summary>The bounds of one endpoint's form (Duende <c>InputLengthRestrictions</c>).</summary>
/// <param name="MaxBytes">Largest body accepted, in bytes; a larger one is answered 413.</param>
/// <param name="MultiValued">
/// Parameters whose own specification lets them repeat; every other parameter may appear at most once
/// (RFC 6749 §3.2). Empty by default.
/// </param>
internal sealed record OAuthFormLimits(long MaxBytes, IReadOnlySet<string> MultiValued)
{
    /// <summary>Most parameters in one form: an OAuth request has about ten.</summary>
    public const int MaxParameters = 32;

    /// <summary>Longest parameter name.</summary>
    public const int MaxNameLength = 64;

    /// <summary>32 KiB, no repeatable parameter: revocation and introspection, which carry one token.</summary>
    public static OAuthFormLimits SingleToken { get; } = new(32 * 1024, FrozenSet<string>.Empty);
}
