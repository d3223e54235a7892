using System.Text.Json;
using Broker.Policy;

namespace Broker.AuthZen;

/// <summary>
/// The body of an Access Evaluation request (OpenID AuthZEN Authorization API 1.0 §6.1) for one delegated capability:
/// the workload as subject, <c>execute</c> as action, the capability as resource, and the task as context. Written in
/// a fixed member order, so one input is always the same bytes (the decision cache keys on them). The shape is
/// documented in docs/policy.md, "External decision points".
/// </summary>
internal static class AuthZenEvaluationRequest
{
    /// <summary>The action name: a delegated rule decides whether the subject may execute the capability.</summary>
    public const string ExecuteAction = "execute";

    /// <summary>The evaluation request, as UTF-8 JSON.</summary>
    /// <param name="delegated">The capability, the rule that matched and its decision point.</param>
    /// <param name="capability">The capability as the tenant declares it.</param>
    /// <param name="allowed">The local decision (tenant, audience, actor chain, policy version).</param>
    /// <param name="subject">The validated subject.</param>
    /// <param name="requestedCapabilities">Every capability the exchange asks for.</param>
    /// <param name="purpose">The task's purpose.</param>
    /// <param name="taskId">The task, or null when the request named none (a jwt-bearer grant).</param>
    public static byte[] Build(
        DelegatedDecision delegated,
        Capability capability,
        PolicyDecision.Allowed allowed,
        WorkloadIdentity subject,
        IReadOnlyList<string> requestedCapabilities,
        string purpose,
        string? taskId)
    {
        using var buffer = new MemoryStream(512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();

            // §5.1 Subject: type and id REQUIRED; what vouched for it in properties.
            json.WriteStartObject("subject");
            json.WriteString("type", "workload");
            json.WriteString("id", subject.Id);
            json.WriteStartObject("properties");
            json.WriteString("tenant", allowed.Tenant);
            json.WriteString("credential", Credential(subject.Kind));
            json.WriteString("identity_source", subject.Source);
            json.WriteBoolean("sender_constrained", subject.IsSenderConstrained);
            json.WriteEndObject();
            json.WriteEndObject();

            // §5.3 Action: name REQUIRED.
            json.WriteStartObject("action");
            json.WriteString("name", ExecuteAction);
            json.WriteEndObject();

            // §5.2 Resource: type and id REQUIRED; the MCP server and tools in properties.
            json.WriteStartObject("resource");
            json.WriteString("type", "capability");
            json.WriteString("id", capability.Name);
            json.WriteStartObject("properties");
            json.WriteString("tenant", allowed.Tenant);
            WriteStringOrNull(json, "resource_uri", capability.Resource);
            json.WriteString("audience", allowed.Audience);
            json.WriteStartArray("tools");
            foreach (var tool in capability.Tools)
            {
                json.WriteStringValue(tool);
            }

            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteEndObject();

            // §5.4 Context: the task and the delegation chain that caused the request, and which local rule delegated.
            json.WriteStartObject("context");
            json.WriteString("purpose", purpose);
            WriteStringOrNull(json, "task_id", taskId);
            json.WriteStartArray("actor_chain");
            foreach (var actor in allowed.ActorChain)
            {
                json.WriteStringValue(actor);
            }

            json.WriteEndArray();
            json.WriteStartArray("requested_capabilities");
            foreach (var name in requestedCapabilities)
            {
                json.WriteStringValue(name);
            }

            json.WriteEndArray();
            json.WriteString("rule", delegated.Rule);
            json.WriteString("policy_version", allowed.PolicyVersion);
            json.WriteEndObject();

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static string Credential(IdentityKind kind) => kind switch
    {
        IdentityKind.SpiffeJwt => "jwt_svid",
        IdentityKind.SpiffeX509 => "x509_svid",
        IdentityKind.Oidc => "oidc",
        IdentityKind.Broker => "broker_token",
        _ => "unknown",
    };

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }
}
