using System.Security.Cryptography.X509Certificates;

namespace Broker.Exchange;

/// <summary>What the connection says about the caller.</summary>
/// <param name="Address">The client's IP address, for the audit trail.</param>
/// <param name="ClientCertificate">The TLS client certificate, when the caller presented one.</param>
public sealed record ExchangeCaller(string? Address, X509Certificate2? ClientCertificate = null);
