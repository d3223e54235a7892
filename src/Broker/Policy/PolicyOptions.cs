namespace Broker.Policy;

/// <summary>Policy as code, bound from <c>Broker:Policy</c>.</summary>
internal sealed class PolicyOptions
{
    /// <summary>The directory of policy files (<c>*.yaml</c>, <c>*.yml</c>, recursively). Required.</summary>
    public string? Path { get; set; }

    /// <summary>Reload when a file changes. On by default.</summary>
    public bool Watch { get; set; } = true;

    /// <summary>Quiet time after the last change before reloading, so an editor's save or a ConfigMap swap is read once. Default 250 ms.</summary>
    public TimeSpan ReloadDebounce { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>Ceiling on any token lifetime a policy may set. Default one hour: capability tokens live minutes, not hours.</summary>
    public TimeSpan MaxTokenLifetime { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Accept <c>http://</c> issuers and bundle endpoints on loopback. Off by default; for tests and
    /// local experiments only (<c>--dev</c> implies it).
    /// </summary>
    public bool AllowInsecureLoopbackUrls { get; set; }

    /// <summary>Lifetime when a request names none. Default 5 minutes.</summary>
    public TimeSpan DefaultTokenLifetime { get; set; } = TimeSpan.FromMinutes(5);
}
