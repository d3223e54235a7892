using System.Text;
using Broker.Subjects;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Tests.Subjects;

public sealed class ClaimsFlattenerTests
{
    [Fact]
    public void Flatten_NestedObjectsAndArrays_ByPath()
    {
        var payload = Base64UrlEncoder.Encode("""{"sub":"x","n":3,"b":true,"kubernetes.io":{"namespace":"payments","serviceaccount":{"name":"bot"}},"groups":["a","b",{"skip":1}]}""");

        var claims = ClaimsFlattener.Flatten(payload);

        Assert.Equal(["x"], claims["sub"]);
        Assert.Equal(["3"], claims["n"]);
        Assert.Equal(["true"], claims["b"]);
        Assert.Equal(["payments"], claims["kubernetes.io/namespace"]);
        Assert.Equal(["bot"], claims["kubernetes.io/serviceaccount/name"]);
        Assert.Equal(["a", "b"], claims["groups"]);
    }

    [Fact]
    public void Flatten_HostilePayload_IsBounded()
    {
        var json = new StringBuilder("{");
        for (var i = 0; i < 1000; i++)
        {
            json.Append($"\"c{i}\":{i},");
        }

        json.Append("\"deep\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":1}}}}}}");

        var claims = ClaimsFlattener.Flatten(Base64UrlEncoder.Encode(json.ToString()));

        Assert.True(claims.Count <= 256);
        Assert.DoesNotContain(claims.Keys, k => k.Count(c => c == '/') >= 4);
    }
}
