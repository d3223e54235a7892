// Broker.Spiffe — SPIFFE for .NET.

using System.Buffers.Text;
using System.Text;
using Broker.Spiffe;
using Broker.Spiffe.WorkloadApi.Protos;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Testing.WorkloadApi;

/// <summary>
/// The gRPC service of the fake agent, modelled on SPIRE's workload handler and go-spiffe's fakeworkloadapi,
/// except that ValidateJWTSVID really verifies signatures (with Microsoft.IdentityModel, not the library under test).
/// </summary>
internal sealed class FakeWorkloadApiService(FakeWorkloadApiState state) : SpiffeWorkloadAPI.SpiffeWorkloadAPIBase
{
    public override Task FetchX509SVID(X509SVIDRequest request, IServerStreamWriter<X509SVIDResponse> responseStream, ServerCallContext context) =>
        StreamAsync("FetchX509SVID", context, state.BuildX509SvidResponse, responseStream);

    public override Task FetchX509Bundles(X509BundlesRequest request, IServerStreamWriter<X509BundlesResponse> responseStream, ServerCallContext context) =>
        StreamAsync("FetchX509Bundles", context, state.BuildX509BundlesResponse, responseStream);

    public override Task FetchJWTBundles(JWTBundlesRequest request, IServerStreamWriter<JWTBundlesResponse> responseStream, ServerCallContext context) =>
        StreamAsync("FetchJWTBundles", context, state.BuildJwtBundlesResponse, responseStream);

    public override Task<JWTSVIDResponse> FetchJWTSVID(JWTSVIDRequest request, ServerCallContext context)
    {
        state.Enter(context, "FetchJWTSVID");
        state.CheckCaller();
        return Task.FromResult(state.FetchJwtSvids(request));
    }

    public override async Task<ValidateJWTSVIDResponse> ValidateJWTSVID(ValidateJWTSVIDRequest request, ServerCallContext context)
    {
        state.Enter(context, "ValidateJWTSVID");
        state.CheckCaller();
        if (request.Audience.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "audience must be specified"));
        }

        if (request.Svid.Length == 0)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "svid must be specified"));
        }

        // Keys of the subject's trust domain only (spec §3); a failure is InvalidArgument with the reason (SPIRE).
        JsonWebToken unverified;
        try
        {
            unverified = new JsonWebToken(request.Svid);
        }
        catch (ArgumentException)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "token is malformed"));
        }

        if (!SpiffeId.TryParse(unverified.Subject, out var subject)
            || !state.AllJwks().TryGetValue(subject.TrustDomain.IdString, out var jwks))
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "no keys found for the subject's trust domain"));
        }

        var result = await new JsonWebTokenHandler().ValidateTokenAsync(request.Svid, new TokenValidationParameters
        {
            IssuerSigningKeys = new JsonWebKeySet(jwks).Keys,
            ValidAudience = request.Audience,
            ValidateIssuer = false,
            ValidAlgorithms = ["ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"],
            TryAllIssuerSigningKeys = false,
            RequireExpirationTime = true,
            ClockSkew = TimeSpan.FromSeconds(30),
            LifetimeValidator = (nb, exp, _, _) =>
            {
                var now = state.TimeProvider.GetUtcNow().UtcDateTime;
                return exp is { } e && now < e.AddSeconds(30) && (nb is not { } n || n <= now.AddSeconds(30));
            },
        });
        if (!result.IsValid)
        {
            throw new RpcException(new Status(StatusCode.InvalidArgument, "token is invalid: " + result.Exception?.GetType().Name));
        }

        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(unverified.EncodedPayload));
        var claims = JsonParser.Default.Parse<Struct>(payload);
        if (claims.Fields.TryGetValue("aud", out var aud) && aud.KindCase == Value.KindOneofCase.StringValue)
        {
            // SPIRE always returns aud as a list.
            claims.Fields["aud"] = Value.ForList(aud);
        }

        return new ValidateJWTSVIDResponse { SpiffeId = subject.ToString(), Claims = claims };
    }

    private async Task StreamAsync<T>(string rpc, ServerCallContext context, Func<T> build, IServerStreamWriter<T> writer)
        where T : class, IMessage<T>
    {
        state.Enter(context, rpc);
        state.StreamOpened();
        try
        {
            await state.FirstMessageGate.WaitAsync(context.CancellationToken);
            T? last = null;
            while (true)
            {
                // Capture the signal before reading state so no change between the two is missed.
                var changed = state.ChangedTask;
                state.CheckCaller();
                var message = build();

                // Identical consecutive messages are skipped, as SPIRE does.
                if (!message.Equals(last))
                {
                    await writer.WriteAsync(message, context.CancellationToken);
                    last = message;
                }

                try
                {
                    await changed.WaitAsync(context.CancellationToken);
                }
                catch (StreamAbortedException)
                {
                    // An agent that dies does not say goodbye: drop the connection.
                    context.GetHttpContext().Abort();
                    return;
                }
            }
        }
        finally
        {
            state.StreamClosed();
        }
    }
}
