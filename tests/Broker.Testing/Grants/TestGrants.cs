using Broker.Audit;
using Broker.Grants;

namespace Broker.Testing.Grants;

/// <summary>Realistic grants and their issuance events, for the store tests.</summary>
internal static class TestGrants
{
    /// <summary>A ten-minute grant issued now (whole milliseconds, as stores keep them).</summary>
    public static GrantRecord New(string tenant, string purpose)
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(TimeProvider.System.GetUtcNow().ToUnixTimeMilliseconds());
        return new GrantRecord
        {
            Id = GrantId.New(tenant),
            Tenant = tenant,
            Subject = "spiffe://acme.example/ns/agents/sa/research-agent",
            ClientId = "spiffe://acme.example/ns/agents/sa/research-agent",
            Capabilities = ["files.read"],
            Audience = "https://mcp.acme.example/files",
            TaskId = "task-1",
            Purpose = purpose,
            IssuedAt = now,
            ExpiresAt = now.AddMinutes(10),
            PolicyVersion = "sha256-test",
        };
    }

    /// <summary>The issuance event the exchange writes with <paramref name="grant"/>, every field filled.</summary>
    public static AuditEvent Issued(GrantRecord grant, string clientAddress = "10.1.2.3") => new()
    {
        Type = AuditEventTypes.TokenExchange,
        Time = grant.IssuedAt,
        Outcome = AuditOutcome.Allowed,
        Tenant = grant.Tenant,
        Subject = grant.Subject,
        ActorChain = grant.ActorChain,
        RequestedCapabilities = grant.Capabilities,
        GrantedCapabilities = grant.Capabilities,
        Audience = grant.Audience,
        TaskId = grant.TaskId,
        Purpose = grant.Purpose,
        PolicyVersion = grant.PolicyVersion,
        GrantId = grant.Id,
        ClientAddress = clientAddress,
        SubjectTokenSha256 = "n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg",
    };
}
