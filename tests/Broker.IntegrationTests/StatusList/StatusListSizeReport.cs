using System.Globalization;
using System.Text;
using Broker.Grants;
using Broker.StatusList;

namespace Broker.IntegrationTests.StatusList;

/// <summary>
/// How big a tenant's list is on the wire: 100,000 and 1,048,576 allocated indexes with about 1% revoked, at random
/// (the worst spread for compression), compressed as the broker serves them (the whole default capacity, ZLIB at the
/// highest level). Prints its numbers (see docs/mcp.md "Token Status List"); asserts only that it measured something.
/// </summary>
public sealed class StatusListSizeReport
{
    [Fact]
    public void CompressedSize_100kAnd1M_OnePercentRevoked_IsReported()
    {
        // Arrange
        var capacity = new StatusListOptions().Capacity;
        var random = new Random(20261124);
        var report = new StringBuilder().AppendLine(CultureInfo.InvariantCulture, $"List of {capacity:N0} indexes ({capacity / 8 / 1024} KiB uncompressed), ZLIB at SmallestSize:");
        long smallest = long.MaxValue;
        foreach (var (allocated, revokedShare) in new[] { (0, 0.0), (100_000, 0.01), (capacity, 0.01), (capacity, 0.05), (capacity, 0.5) })
        {
            var list = new byte[capacity / 8];
            var revoked = 0;
            for (var i = 0; i < allocated; i++)
            {
                if (random.NextDouble() < revokedShare)
                {
                    StatusIndexing.Set(list, i, true);
                    revoked++;
                }
            }

            // Act
            var lst = StatusListTokens.Compress(list);

            // Report: the compressed list, its lst member (base64url), and a whole list token as the broker signs it.
            var compressed = lst.Length * 3 / 4;
            smallest = Math.Min(smallest, compressed);
            var token = Token(lst).Length;
            report.AppendLine(CultureInfo.InvariantCulture, $"  {allocated,9:N0} allocated, {revoked,7:N0} revoked ({revokedShare:P0}): {compressed,8:N0} B compressed, lst {lst.Length,8:N0} characters, list token {token,8:N0} B");
        }

        var text = report.ToString();
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        TestContext.Current.SendDiagnosticMessage(text);
        var reportPath = Environment.GetEnvironmentVariable("BROKER_STATUS_LIST_REPORT");
        if (!string.IsNullOrEmpty(reportPath))
        {
            File.WriteAllText(reportPath, text);
        }

        // Assert
        Assert.True(smallest > 0);
    }

    /// <summary>A list token with the broker's header and claims, for an issuer of a realistic length.</summary>
    private static string Token(string lst)
    {
        using var key = System.Security.Cryptography.ECDsa.Create(System.Security.Cryptography.ECCurve.NamedCurves.nistP256);
        var signing = Broker.Keys.SigningKey.FromECDsa(key);
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var payload = System.Text.Json.JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["iss"] = "https://broker.example.com",
            ["sub"] = "https://broker.example.com/statuslists/v1/acme-corp",
            ["iat"] = now,
            ["exp"] = now + 300,
            ["ttl"] = 30,
            ["status_list"] = new Dictionary<string, object> { ["bits"] = 1, ["lst"] = lst },
        });
        return new Microsoft.IdentityModel.JsonWebTokens.JsonWebTokenHandler()
            .CreateToken(payload, signing.Credentials, new Dictionary<string, object> { ["typ"] = StatusListTokens.TokenType });
    }
}
