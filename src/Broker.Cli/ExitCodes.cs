namespace Broker.Cli;

/// <summary>The exit codes of <c>brokerctl</c>, as documented in docs/admin.md.</summary>
internal static class ExitCodes
{
    /// <summary>The command did what was asked.</summary>
    public const int Success = 0;

    /// <summary>The broker refused the request (a 4xx other than 401/403, e.g. not found).</summary>
    public const int Refused = 1;

    /// <summary>Bad arguments; nothing was sent.</summary>
    public const int Usage = 2;

    /// <summary>Authentication or authorisation failed (401/403).</summary>
    public const int AuthenticationFailed = 3;

    /// <summary>The broker or its store is unreachable (network error, timeout, 5xx).</summary>
    public const int Unavailable = 4;

    /// <summary><c>policy check</c> found errors.</summary>
    public const int PolicyErrors = 5;
}
