namespace Broker.Grants;

/// <summary>
/// The grant store could not confirm an operation (unreachable, timed out). The caller fails closed.
/// </summary>
internal sealed class GrantStoreUnavailableException : Exception
{
    public GrantStoreUnavailableException()
        : base("The grant store is unavailable.")
    {
    }

    public GrantStoreUnavailableException(string message)
        : base(message)
    {
    }

    public GrantStoreUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
