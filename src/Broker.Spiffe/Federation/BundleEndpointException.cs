// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Federation;

/// <summary>Fetching a bundle from a bundle endpoint failed. Messages are prefixed <c>federation:</c>.</summary>
public sealed class BundleEndpointException : Exception
{
    /// <summary>Creates the exception.</summary>
    public BundleEndpointException()
        : base("federation: bundle endpoint request failed.")
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public BundleEndpointException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public BundleEndpointException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
