// Broker.Client — the agent side of the Broker.

using System.Globalization;
using Broker.Policy;

namespace Broker.Client;

/// <summary>
/// What a capability token is requested for: the MCP server (<see cref="Resource"/>) and/or logical
/// <see cref="Audience"/>, the capabilities, and the task context. Each value is checked against the broker's
/// grammar when it is set, so a mistake fails at the line that made it.
/// </summary>
/// <remarks>
/// <see cref="TaskId"/>, <see cref="Purpose"/> and <see cref="Lifetime"/> may be left out here and come from
/// <see cref="BrokerClientOptions"/>; the merged request must have both a task ID and a purpose.
/// </remarks>
public sealed record CapabilityRequest
{
    /// <summary>Creates a request for <paramref name="capabilities"/>.</summary>
    /// <param name="capabilities">Capability names (the <c>scope</c>); at least one. Order and duplicates do not matter.</param>
    /// <exception cref="ArgumentException">No capability, too many, or one is not an RFC 6749 scope token.</exception>
    public CapabilityRequest(params IEnumerable<string> capabilities)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var name in capabilities)
        {
            if (name is null || !Grammar.IsScopeToken(name))
            {
                throw new ArgumentException($"'{name}' is not a capability name: 1-{Grammar.MaxNameLength} printable ASCII characters other than space, '\"' and '\\' (RFC 6749 §3.3).", nameof(capabilities));
            }

            names.Add(name);
        }

        if (names.Count is 0 or > Grammar.DefaultMaxCapabilities)
        {
            throw new ArgumentException($"A capability request names 1-{Grammar.DefaultMaxCapabilities} capabilities.", nameof(capabilities));
        }

        Capabilities = [.. names];
    }

    /// <summary>The capabilities, distinct and in ordinal order.</summary>
    public IReadOnlyList<string> Capabilities { get; }

    /// <summary>The MCP server's URI (RFC 8707 <c>resource</c>): absolute https (http only on loopback), no fragment.</summary>
    /// <exception cref="ArgumentException">Not such a URI.</exception>
    public string? Resource
    {
        get;
        init => field = value is null || Grammar.IsResourceUri(value, allowInsecureLoopback: true)
            ? value
            : throw new ArgumentException($"'{value}' is not a resource URI: absolute https (http only on loopback), without user info or fragment, at most {Grammar.MaxResourceUriLength} characters.", nameof(Resource));
    }

    /// <summary>A capability's logical audience (RFC 8693 <c>audience</c>), 1-256 characters.</summary>
    /// <exception cref="ArgumentException">Empty or too long.</exception>
    public string? Audience
    {
        get;
        init => field = value is null || value.Length is > 0 and <= Grammar.DefaultMaxAudienceLength
            ? value
            : throw new ArgumentException($"An audience has 1-{Grammar.DefaultMaxAudienceLength} characters.", nameof(Audience));
    }

    /// <summary>The task the token is for (<c>task_id</c>): 1-128 of <c>A-Z a-z 0-9 . _ : / -</c>.</summary>
    /// <exception cref="ArgumentException">Not in that grammar.</exception>
    public string? TaskId
    {
        get;
        init => field = CheckTaskContext(value, nameof(TaskId));
    }

    /// <summary>Why the task runs (<c>purpose</c>): 1-128 of <c>A-Z a-z 0-9 . _ : / -</c>.</summary>
    /// <exception cref="ArgumentException">Not in that grammar.</exception>
    public string? Purpose
    {
        get;
        init => field = CheckTaskContext(value, nameof(Purpose));
    }

    /// <summary>Requested lifetime (<c>expires_in</c>), whole seconds, at least one. Policy may shorten it, never lengthen it.</summary>
    /// <exception cref="ArgumentException">Shorter than a second, not whole seconds, or too long.</exception>
    public TimeSpan? Lifetime
    {
        get;
        init => field = CheckLifetime(value, nameof(Lifetime));
    }

    /// <summary>The <c>scope</c> parameter: the capabilities, space-separated.</summary>
    public string Scope => string.Join(' ', Capabilities);

    /// <summary>Value equality over every field, capabilities as a set.</summary>
    public bool Equals(CapabilityRequest? other) =>
        other is not null
        && string.Equals(Resource, other.Resource, StringComparison.Ordinal)
        && string.Equals(Audience, other.Audience, StringComparison.Ordinal)
        && string.Equals(TaskId, other.TaskId, StringComparison.Ordinal)
        && string.Equals(Purpose, other.Purpose, StringComparison.Ordinal)
        && Lifetime == other.Lifetime
        && Capabilities.SequenceEqual(other.Capabilities, StringComparer.Ordinal);

    /// <inheritdoc />
    public override string ToString() =>
        $"CapabilityRequest {{ Resource = {Resource}, Audience = {Audience}, Scope = {Scope}, TaskId = {TaskId}, Purpose = {Purpose}, Lifetime = {Lifetime} }}";

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Resource, Audience, TaskId, Purpose, Lifetime, Scope);

    /// <summary>
    /// This request completed with the defaults of <paramref name="options"/> and checked for completeness.
    /// </summary>
    /// <exception cref="ArgumentException">No resource or audience, or no task ID or purpose after the defaults.</exception>
    internal CapabilityRequest Resolve(BrokerClientOptions options)
    {
        var resolved = this with
        {
            TaskId = TaskId ?? options.DefaultTaskId,
            Purpose = Purpose ?? options.DefaultPurpose,
            Lifetime = Lifetime ?? options.DefaultLifetime,
        };

        // RFC 8707 / RFC 8693 §2.1: the broker issues a token for exactly one named target.
        if (resolved.Resource is null && resolved.Audience is null)
        {
            throw new ArgumentException("A capability request names a resource, an audience or both.");
        }

        if (resolved.TaskId is null || resolved.Purpose is null)
        {
            throw new ArgumentException("A capability request needs a task ID and a purpose, set on the request or as BrokerClientOptions.DefaultTaskId and DefaultPurpose.");
        }

        return resolved;
    }

    /// <summary>The cache key: every field that changes what the broker would issue.</summary>
    internal string CacheKey =>
        string.Join('\n', Resource, Audience, Scope, TaskId, Purpose, Lifetime?.TotalSeconds.ToString(CultureInfo.InvariantCulture));

    internal static string? CheckTaskContext(string? value, string parameterName) =>
        value is null || Grammar.IsTaskContextValue(value)
            ? value
            : throw new ArgumentException($"'{value}' is not a valid {parameterName}: 1-{Grammar.MaxTaskContextLength} characters of A-Z a-z 0-9 . _ : / -.", parameterName);

    internal static TimeSpan? CheckLifetime(TimeSpan? value, string parameterName) =>
        value is not { } lifetime || (lifetime >= TimeSpan.FromSeconds(1) && lifetime.Ticks % TimeSpan.TicksPerSecond == 0 && lifetime.TotalSeconds <= int.MaxValue)
            ? value
            : throw new ArgumentException($"A requested lifetime is a whole number of seconds, at least one (it is sent as expires_in); got {value}.", parameterName);
}
