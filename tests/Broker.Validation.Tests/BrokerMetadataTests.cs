using System.Net;
using System.Security.Cryptography;
using System.Text;
using Broker.Validation.Tests.Infrastructure;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Validation.Tests;

/// <summary>Where keys come from: only the configured broker, refreshed for a new kid at a bounded rate.</summary>
public sealed class BrokerMetadataTests
{
    [Fact]
    public async Task UnknownKid_RefetchedBeforeValidation_ThenRateLimited()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        var (keyA, kidA) = broker.NewKey();
        await using var server = await TestMcpServer.StartAsync(broker.BaseAddress, o => o.MinimumKeyRefreshInterval = TimeSpan.FromHours(1));

        // Act + Assert: the first token loads the keys.
        await CallAsync(server, broker.Sign(keyA, kidA));
        Assert.Equal((1, 1), (broker.MetadataRequests, broker.JwksRequests));

        // The broker starts signing with a new key: the first token that names it is accepted, after one refetch.
        var (keyB, kidB) = broker.NewKey();
        await CallAsync(server, broker.Sign(keyB, kidB));
        Assert.Equal((2, 2), (broker.MetadataRequests, broker.JwksRequests));

        // Another new key within the interval: refused without a fetch.
        var (keyC, kidC) = broker.NewKey();
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), broker.Sign(keyC, kidC));
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("error_description=\"The token's signing key is unknown.\"", Rpc.Challenge(response), StringComparison.Ordinal);
        Assert.Equal((2, 2), (broker.MetadataRequests, broker.JwksRequests));
        Assert.NotEmpty(server.Logs.WithEvent("BrokerKeyRefreshRateLimited"));
    }

    [Fact]
    public async Task TokenThatCannotVerify_CausesNoFetch()
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        broker.NewKey();
        await using var server = await TestMcpServer.StartAsync(broker.BaseAddress);
        var unsigned = Base64UrlEncoder.Encode("""{"alg":"HS256","typ":"at+jwt","kid":"new"}""") + "." + Base64UrlEncoder.Encode("""{"iss":"x"}""");
        var token = unsigned + "." + Base64UrlEncoder.Encode(HMACSHA256.HashData(new byte[32], Encoding.ASCII.GetBytes(unsigned)));

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), token);

        // Assert
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, broker.MetadataRequests);
    }

    public static TheoryData<string> BadMetadata => new()
    {
        "issuer names another broker",
        "issuer with a trailing slash",
        "jwks_uri on another origin",
        "no jwks_uri",
        "JWKS without an EC P-256 key",
        "JWKS key for encryption",
        "JWKS key with its private part",
        "metadata redirects",
        "metadata answers 500",
    };

    [Theory]
    [MemberData(nameof(BadMetadata))]
    public async Task MetadataNotTrustworthy_503AndNothingElseFetched(string scenario)
    {
        // Arrange
        await using var broker = await StandInBroker.StartAsync();
        await using var elsewhere = await StandInBroker.StartAsync();
        var (key, kid) = broker.NewKey();
        elsewhere.Keys.AddRange(broker.Keys);
        switch (scenario)
        {
            case "issuer names another broker":
                broker.Metadata = () => new { issuer = elsewhere.Issuer, jwks_uri = broker.Issuer + "/.well-known/jwks.json" };
                break;
            case "issuer with a trailing slash":
                broker.Metadata = () => new { issuer = broker.Issuer + "/", jwks_uri = broker.Issuer + "/.well-known/jwks.json" };
                break;
            case "jwks_uri on another origin":
                broker.Metadata = () => new { issuer = broker.Issuer, jwks_uri = elsewhere.Issuer + "/.well-known/jwks.json" };
                break;
            case "no jwks_uri":
                broker.Metadata = () => new { issuer = broker.Issuer };
                break;
            case "JWKS without an EC P-256 key":
                broker.Keys.Clear();
                broker.Keys.Add(new() { ["kty"] = "oct", ["k"] = Base64UrlEncoder.Encode(new byte[32]), ["kid"] = kid });
                break;
            case "JWKS key for encryption":
                broker.Keys[0]["use"] = "enc";
                break;
            case "JWKS key with its private part":
                broker.Keys[0]["d"] = Base64UrlEncoder.Encode(key.ExportParameters(true).D!);
                break;
            case "metadata redirects":
                broker.RedirectMetadataTo = elsewhere.Issuer + "/.well-known/oauth-authorization-server";
                break;
            case "metadata answers 500":
                broker.Metadata = () => null;
                break;
        }

        await using var server = await TestMcpServer.StartAsync(broker.BaseAddress);

        // Act
        using var response = await Rpc.SendAsync(server, Rpc.ToolCall("read_file"), broker.Sign(key, kid));

        // Assert
        Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"{scenario}: HTTP {(int)response.StatusCode}");
        Assert.Equal("5", response.Headers.RetryAfter?.ToString());
        Assert.Empty(response.Headers.WwwAuthenticate);
        Assert.Equal((0, 0), (elsewhere.MetadataRequests, elsewhere.JwksRequests));
        Assert.NotEmpty(server.Logs.WithEvent("BrokerMetadataUnavailable"));
        Assert.Equal(0, server.ToolRuns.Count);
    }

    private static async Task CallAsync(TestMcpServer server, string token)
    {
        await using var client = await server.ConnectAsync(token);
        var result = await client.CallToolAsync("read_file", new Dictionary<string, object?> { ["path"] = "x" }, cancellationToken: TestContext.Current.CancellationToken);
        Assert.NotEqual(true, result.IsError);
    }
}
