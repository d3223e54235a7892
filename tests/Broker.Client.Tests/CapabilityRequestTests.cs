namespace Broker.Client.Tests;

public sealed class CapabilityRequestTests
{
    [Theory]
    [InlineData("task 42")]
    [InlineData("")]
    [InlineData("täsk")]
    [InlineData("task\n42")]
    [InlineData("task?42")]
    public void TaskId_OutsideTheBrokerGrammar_ThrowsArgumentException(string taskId)
    {
        // Act
        var error = Assert.Throws<ArgumentException>(() => new CapabilityRequest("tools.read") { Resource = "https://mcp.example.org/mcp", TaskId = taskId });

        // Assert
        Assert.Equal("TaskId", error.ParamName);
    }

    [Fact]
    public void Purpose_LongerThan128_ThrowsArgumentException()
    {
        // Act
        var error = Assert.Throws<ArgumentException>(() => new CapabilityRequest("tools.read") { Purpose = new string('p', 129) });

        // Assert
        Assert.Equal("Purpose", error.ParamName);
    }

    [Fact]
    public void TaskContext_EveryAllowedCharacterAt128_Accepted()
    {
        // Arrange
        var value = ("AZaz09._:/-" + new string('x', 128))[..128];

        // Act
        var request = new CapabilityRequest("tools.read") { TaskId = value, Purpose = value };

        // Assert
        Assert.Equal(value, request.TaskId);
    }

    [Theory]
    [InlineData("tools read")]
    [InlineData("tools\"read")]
    [InlineData("tools\\read")]
    [InlineData("")]
    public void Constructor_MalformedCapability_ThrowsArgumentException(string capability)
    {
        Assert.Throws<ArgumentException>(() => new CapabilityRequest(capability));
    }

    [Fact]
    public void Constructor_NoCapabilityOrTooMany_ThrowsArgumentException()
    {
        Assert.Throws<ArgumentException>(() => new CapabilityRequest());
        Assert.Throws<ArgumentException>(() => new CapabilityRequest(Enumerable.Range(0, 17).Select(i => $"c{i}")));
    }

    [Theory]
    [InlineData("http://mcp.example.org/mcp")]
    [InlineData("https://mcp.example.org/mcp#tools")]
    [InlineData("https://user@mcp.example.org/mcp")]
    [InlineData("/relative")]
    public void Resource_NotAnAcceptableUri_ThrowsArgumentException(string resource)
    {
        var error = Assert.Throws<ArgumentException>(() => new CapabilityRequest("tools.read") { Resource = resource });
        Assert.Equal("Resource", error.ParamName);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0)]
    [InlineData(-5)]
    [InlineData(1.5)]
    public void Lifetime_NotWholePositiveSeconds_ThrowsArgumentException(double seconds)
    {
        Assert.Throws<ArgumentException>(() => new CapabilityRequest("tools.read") { Lifetime = TimeSpan.FromSeconds(seconds) });
    }

    [Fact]
    public void Equality_CapabilitiesAsASet()
    {
        // Arrange
        var a = new CapabilityRequest("b", "a", "a") { Resource = "https://mcp.example.org/mcp", TaskId = "t" };
        var b = new CapabilityRequest("a", "b") { Resource = "https://mcp.example.org/mcp", TaskId = "t" };

        // Assert
        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.Equal(["a", "b"], a.Capabilities);
        Assert.Equal(a.CacheKey, b.CacheKey);
        Assert.NotEqual(a, b with { TaskId = "u" });
    }

    [Fact]
    public void Resolve_DefaultsFillOnlyWhatIsMissing()
    {
        // Arrange
        var options = new BrokerClientOptions { DefaultTaskId = "default-task", DefaultPurpose = "default-purpose", DefaultLifetime = TimeSpan.FromMinutes(1) };
        var request = new CapabilityRequest("a") { Audience = "crm", Purpose = "own" };

        // Act
        var resolved = request.Resolve(options);

        // Assert
        Assert.Equal("default-task", resolved.TaskId);
        Assert.Equal("own", resolved.Purpose);
        Assert.Equal(TimeSpan.FromMinutes(1), resolved.Lifetime);
    }

    [Fact]
    public void ToString_OfTokens_NeverPrintsTheToken()
    {
        // Arrange
        var subject = new SubjectToken("eyJhbGciOiJFUzI1NiJ9.subject.secret", SubjectTokenTypes.Jwt, DateTimeOffset.UnixEpoch);
        var capability = new CapabilityToken("eyJhbGciOiJFUzI1NiJ9.capability.secret", DateTimeOffset.UnixEpoch.AddMinutes(5), "a b", SubjectTokenTypes.AccessToken, DateTimeOffset.UnixEpoch);

        // Assert
        Assert.DoesNotContain("secret", subject.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("secret", capability.ToString(), StringComparison.Ordinal);
        Assert.Contains("Scope = a b", capability.ToString(), StringComparison.Ordinal);
        Assert.Contains("Scope = a b", new CapabilityRequest("b", "a").ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Resolve_NoTarget_ThrowsArgumentException()
    {
        var request = new CapabilityRequest("a") { TaskId = "t", Purpose = "p" };
        Assert.Throws<ArgumentException>(() => request.Resolve(new BrokerClientOptions()));
    }
}
