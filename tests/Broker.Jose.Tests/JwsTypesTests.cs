namespace Broker.Jose.Tests;

public sealed class JwsTypesTests
{
    [Fact]
    public void Jwt_AcceptsAbsentJwtAndJose_CaseInsensitively_WithOrWithoutTheMediaTypePrefix()
    {
        Assert.True(JwsTypes.Jwt.Contains(null));
        Assert.True(JwsTypes.Jwt.Contains("JWT"));
        Assert.True(JwsTypes.Jwt.Contains("jose"));
        Assert.True(JwsTypes.Jwt.Contains("APPLICATION/jwt"));
        Assert.False(JwsTypes.Jwt.Contains(""));
        Assert.False(JwsTypes.Jwt.Contains("application/"));
        Assert.False(JwsTypes.Jwt.Contains("at+jwt"));
        Assert.False(JwsTypes.Jwt.Contains("jwt "));
    }

    [Fact]
    public void Union_AcceptsEither()
    {
        var both = JwsTypes.Jwt.Union(JwsTypes.AccessToken);

        Assert.True(both.Contains(null));
        Assert.True(both.Contains("at+jwt"));
        Assert.True(both.Contains("JWT"));
        Assert.False(both.Contains("dpop+jwt"));
        Assert.False(JwsTypes.AccessToken.Contains(null));
    }

    [Fact]
    public void Of_NormalisesAndRefusesThePrefix()
    {
        var types = JwsTypes.Of(false, "DPoP+JWT");

        Assert.Equal(["dpop+jwt"], types.Names);
        Assert.True(types.Contains("application/dpop+jwt"));
        Assert.Throws<ArgumentException>(() => JwsTypes.Of(false, "application/dpop+jwt"));
        Assert.Throws<ArgumentException>(() => JwsTypes.Of(false, " "));
    }
}
