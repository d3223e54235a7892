using System.Security.Cryptography.X509Certificates;

namespace Broker.Exchange;

/// <summary>What the connection says about the caller.</summary>
/// <param name="Address">The client's IP address, for the audit trail.</param>
/// <param name="ClientCertificate">The TLS client certificate, when the caller presented one.</param>
/// <param name="DPoPThumbprint">
/// The RFC 7638 thumbprint of the key whose DPoP proof (RFC 9449) came with the request and passed every check; null
/// for a request without one.
/// </param>
internal sealed record ExchangeCaller(string? Address, X509Certificate2? ClientCertificate = null, string? DPoPThumbprint = null);
