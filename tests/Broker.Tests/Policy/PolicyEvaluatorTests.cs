using Broker.Errors;
using Broker.Policy;
using Broker.Subjects;

namespace Broker.Tests.Policy;

/// <summary>Tenant resolution with the identity's source: an OIDC issuer speaks only for the SPIFFE trust domains its trust entry lists.</summary>
public sealed class PolicyEvaluatorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-policy-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private PolicySet Load(string yaml)
    {
        File.WriteAllText(Path.Combine(_directory, "policy.yaml"), yaml);
        var result = PolicyLoader.Load(_directory, PolicyLoadOptions.Default);
        Assert.True(result.Succeeded, string.Join('\n', result.Errors));
        return result.Policy!;
    }

    private static WorkloadIdentity Oidc(string issuer, string id) => new()
    {
        Id = id,
        Kind = IdentityKind.Oidc,
        Source = issuer,
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        KeyId = "k",
    };

    private const string Policy = """
        tenant: acme
        trust:
          oidc:
            - issuer: https://listed.test
              subject: "{workload}"
              spiffe_trust_domains: [k8s.acme.test]
            - issuer: https://unlisted.test
              subject: "{workload}"
        """;

    [Theory]
    [InlineData("https://listed.test", "spiffe://k8s.acme.test/ns/a/sa/b", true)]
    [InlineData("https://listed.test", "spiffe://acme.test/platform/root", false)]     // another trust domain
    [InlineData("https://unlisted.test", "spiffe://k8s.acme.test/ns/a/sa/b", false)]   // the issuer lists none
    [InlineData("https://unlisted.test", "SPIFFE://k8s.acme.test/ns/a/sa/b", false)]   // any case of the scheme counts
    [InlineData("https://unlisted.test", "spiffe:not-an-id", false)]
    [InlineData("https://unlisted.test", "system:serviceaccount:a:b", true)]          // not a SPIFFE ID: any issuer
    public void ResolveTenant_OidcRenderedSpiffeId_OnlyForListedTrustDomains(string issuer, string id, bool placed)
    {
        // Arrange
        var policy = Load(Policy);

        // Act
        var (tenant, error) = PolicyEvaluator.ResolveTenant(policy, Oidc(issuer, id));

        // Assert
        Assert.Equal(placed, tenant is not null);
        if (!placed)
        {
            Assert.Same(ErrorCatalog.SubjectSpiffeIdNotAllowed, error);
        }
    }

    private const string PopPolicy = """
        tenant: acme
        proof_of_possession: true
        trust:
          spiffe:
            - trust_domain: acme.test
              bundle_endpoint: https://spire.acme.test/bundle
        capabilities:
          - name: invoices.read
            resource: https://mcp.acme.test/invoices
        rules:
          - subjects: ["spiffe://acme.test/agents/*"]
            capabilities: [invoices.read]
            permissions: [execute]
        """;

    [Theory]
    [InlineData(null, null, false)]
    [InlineData("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I", null, true)]   // a DPoP key (RFC 9449)
    [InlineData(null, "x5t-of-the-client-certificate", true)]                 // a client certificate (RFC 8705)
    public void Evaluate_TenantRequiringProofOfPossession_AllowsOnlyASenderConstrainedSubject(string? jkt, string? x5t, bool allowed)
    {
        // Arrange
        var policy = Load(PopPolicy);
        var subject = new WorkloadIdentity
        {
            Id = "spiffe://acme.test/agents/reader",
            Kind = IdentityKind.SpiffeJwt,
            Source = "acme.test",
            Claims = new Dictionary<string, IReadOnlyList<string>>(),
            ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
            KeyId = "k",
            ProofKeyThumbprint = jkt,
            CertificateThumbprint = x5t,
        };

        // Act
        var decision = new PolicyEvaluator(TimeProvider.System).Evaluate(
            policy, new PolicyRequest(subject, null, ["invoices.read"], "https://mcp.acme.test/invoices", null, "billing", null));

        // Assert: a bearer request is refused with the reason that says a proof is needed.
        if (allowed)
        {
            Assert.IsType<PolicyDecision.Allowed>(decision);
        }
        else
        {
            Assert.Same(ErrorCatalog.ProofOfPossessionRequired, Assert.IsType<PolicyDecision.Denied>(decision).Reason);
        }
    }
}
