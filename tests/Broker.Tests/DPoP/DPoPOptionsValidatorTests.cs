using Broker.DPoP;

namespace Broker.Tests.DPoP;

public sealed class DPoPOptionsValidatorTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("broker-dpop-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Validate_Defaults_Succeed()
    {
        // Act
        var result = new DPoPOptionsValidator().Validate(null, new DPoPOptions());

        // Assert
        Assert.True(result.Succeeded, result.FailureMessage);
    }

    public static TheoryData<string> Invalid =>
    [
        "MaxAge", "ClockSkew", "NonceStep", "ReplayCacheCapacity", "Algorithms HS256", "Algorithms none", "NonceKeyFile missing", "NonceKeyFile short",
    ];

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Validate_InsecureOrUnworkableSetting_FailsNamingIt(string setting)
    {
        // Arrange
        var shortKey = Path.Combine(_directory, "short.key");
        File.WriteAllBytes(shortKey, new byte[16]);
        var options = setting switch
        {
            "MaxAge" => new DPoPOptions { MaxAge = TimeSpan.FromHours(1) },
            "ClockSkew" => new DPoPOptions { ClockSkew = TimeSpan.FromSeconds(-1) },
            "NonceStep" => new DPoPOptions { NonceStep = TimeSpan.FromSeconds(1) },
            "ReplayCacheCapacity" => new DPoPOptions { ReplayCacheCapacity = 10 },
            "Algorithms HS256" => new DPoPOptions { Algorithms = ["ES256", "HS256"] },
            "Algorithms none" => new DPoPOptions { Algorithms = ["none"] },
            "NonceKeyFile missing" => new DPoPOptions { NonceKeyFile = Path.Combine(_directory, "missing.key") },
            _ => new DPoPOptions { NonceKeyFile = shortKey },
        };

        // Act
        var result = new DPoPOptionsValidator().Validate(null, options);

        // Assert
        Assert.True(result.Failed);
        Assert.Contains("Broker:DPoP:" + setting.Split(' ')[0], result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_Rs256AddedForLegacyClients_Succeeds()
    {
        // Act
        var result = new DPoPOptionsValidator().Validate(null, new DPoPOptions { Algorithms = ["ES256", "RS256"] });

        // Assert
        Assert.True(result.Succeeded, result.FailureMessage);
    }
}
