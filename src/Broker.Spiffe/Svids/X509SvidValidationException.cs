// Broker.Spiffe — SPIFFE for .NET.

namespace Broker.Spiffe.Svids;

/// <summary>An X509-SVID failed verification. The message is fixed per <see cref="Error"/> and prefixed <c>x509svid:</c>.</summary>
public sealed class X509SvidValidationException : Exception
{
    /// <summary>Creates the exception.</summary>
    public X509SvidValidationException()
        : this(X509SvidValidationError.ChainNotTrusted)
    {
    }

    /// <summary>Creates the exception with a message.</summary>
    public X509SvidValidationException(string message)
        : base(message)
    {
        Error = X509SvidValidationError.ChainNotTrusted;
    }

    /// <summary>Creates the exception with a message and inner exception.</summary>
    public X509SvidValidationException(string message, Exception innerException)
        : base(message, innerException)
    {
        Error = X509SvidValidationError.ChainNotTrusted;
    }

    /// <summary>Creates the exception for an error.</summary>
    public X509SvidValidationException(X509SvidValidationError error)
        : base(X509SvidVerifier.Describe(error))
    {
        Error = error;
    }

    /// <summary>Why the SVID was rejected.</summary>
    public X509SvidValidationError Error { get; }
}
