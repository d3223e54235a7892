using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using System.Text;
using System.Text.Json;
using Broker.Keys;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.JsonWebTokens;

namespace Broker.Tokens;

/// <summary>
/// Mints capability tokens: RFC 9068 JWT access tokens (<c>typ</c> <c>at+jwt</c>), ES256, signed by
/// the active key of the ring with its RFC 7638 thumbprint as <c>kid</c>. The payload is written
/// directly as UTF-8 JSON (it rides on every tool call, so it stays small), and Microsoft.IdentityModel
/// signs it.
/// </summary>
internal sealed class CapabilityTokenIssuer(ISigningKeyProvider keys, IOptions<BrokerOptions> options)
{
    private static readonly Dictionary<string, object> Header = new(StringComparer.Ordinal) { ["typ"] = CapabilityTokenTypes.AccessTokenJwt };
    private readonly JsonWebTokenHandler _handler = new() { SetDefaultTimesOnTokenCreation = false };
    private readonly string _issuer = options.Value.Issuer!;

    public string Issue(CapabilityTokenRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var payload = WritePayload(request);
        return _handler.CreateToken(payload, keys.Active.Credentials, Header);
    }

    /// <summary>
    /// The payload writer of this thread, reused: Utf8JsonWriter asks its buffer for room for the worst case of every
    /// string it writes (six bytes a character), so a fresh buffer per token grew three or four times, about a quarter
    /// of an exchange's allocations. Writing is synchronous, so one per thread is never shared.
    /// </summary>
    [ThreadStatic]
    private static PayloadWriter? t_payloadWriter;

    private string WritePayload(CapabilityTokenRequest request)
    {
        var payload = t_payloadWriter ??= new PayloadWriter();
        var (buffer, writer) = payload.Start();
        writer.WriteStartObject();
        writer.WriteString(JwtRegisteredClaimNames.Iss, _issuer);
        writer.WriteString(JwtRegisteredClaimNames.Sub, request.Subject);
        writer.WriteString(JwtRegisteredClaimNames.Aud, request.Audience);
        writer.WriteString(CapabilityTokenClaims.ClientId, request.ClientId);
        writer.WriteString(CapabilityTokenClaims.Scope, string.Join(' ', request.Capabilities));
        writer.WriteString(JwtRegisteredClaimNames.Jti, request.GrantId);
        writer.WriteNumber(JwtRegisteredClaimNames.Iat, request.IssuedAt.ToUnixTimeSeconds());
        writer.WriteNumber(JwtRegisteredClaimNames.Nbf, request.IssuedAt.ToUnixTimeSeconds());
        writer.WriteNumber(JwtRegisteredClaimNames.Exp, request.ExpiresAt.ToUnixTimeSeconds());
        writer.WriteString(CapabilityTokenClaims.Tenant, request.Tenant);
        if (request.ConsumerTenant is not null)
        {
            // Shared across tenants: tenant is the owner (its MCP servers, its feed); this names the caller's own.
            writer.WriteString(CapabilityTokenClaims.ConsumerTenant, request.ConsumerTenant);
        }

        writer.WriteString(CapabilityTokenClaims.TaskId, request.TaskId);
        writer.WriteString(CapabilityTokenClaims.Purpose, request.Purpose);

        // Who caused the call, as kinds of sub and act (docs/policy.md, "Approval paths"): the resource server's audit
        // line tags each call with it, and a re-exchange carries it over.
        writer.WriteString(CapabilityTokenClaims.Caller, request.Caller.ToString());
        if (request.ActorChain.Count > 0)
        {
            WriteActor(writer, request.ActorChain, 0);
        }

        // RFC 8705 §3.1: bound to the client certificate the subject was proven with.
        if (request.X509Thumbprint is not null)
        {
            writer.WriteStartObject(CapabilityTokenClaims.Confirmation);
            writer.WriteString(CapabilityTokenClaims.X509ThumbprintSha256, request.X509Thumbprint);
            writer.WriteEndObject();
        }

        // RFC 9449 §6.1: bound to the key of the DPoP proof the request came with.
        if (request.JwkThumbprint is not null)
        {
            writer.WriteStartObject(CapabilityTokenClaims.Confirmation);
            writer.WriteString(CapabilityTokenClaims.JwkThumbprint, request.JwkThumbprint);
            writer.WriteEndObject();
        }

        // draft-ietf-oauth-status-list §6.2: where a verifier that polls finds whether the token was revoked.
        if (request.Status is { } status)
        {
            writer.WriteStartObject(CapabilityTokenClaims.Status);
            writer.WriteStartObject(CapabilityTokenClaims.StatusList);
            writer.WriteNumber(CapabilityTokenClaims.StatusIndex, status.Index);
            writer.WriteString(CapabilityTokenClaims.StatusUri, status.Uri);
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        writer.WriteEndObject();
        writer.Flush();

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    [SuppressMessage("Design", "CA1001", Justification = "Utf8JsonWriter holds no unmanaged resource (its Dispose only flushes); this one lives as long as its thread.")]
    private sealed class PayloadWriter
    {
        // Larger than any payload the policy limits allow, so the buffer stops growing after the first tokens.
        private readonly ArrayBufferWriter<byte> _buffer = new(4096);
        private readonly Utf8JsonWriter _writer;

        public PayloadWriter() => _writer = new Utf8JsonWriter(_buffer);

        public (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer) Start()
        {
            _buffer.ResetWrittenCount();
            _writer.Reset(_buffer);
            return (_buffer, _writer);
        }
    }

    /// <summary>RFC 8693 §4.1: <c>act</c> names the current actor; earlier actors nest inside it.</summary>
    private static void WriteActor(Utf8JsonWriter writer, IReadOnlyList<string> chain, int index)
    {
        writer.WriteStartObject(CapabilityTokenClaims.Actor);
        writer.WriteString(JwtRegisteredClaimNames.Sub, chain[index]);
        if (index + 1 < chain.Count)
        {
            WriteActor(writer, chain, index + 1);
        }

        writer.WriteEndObject();
    }
}
