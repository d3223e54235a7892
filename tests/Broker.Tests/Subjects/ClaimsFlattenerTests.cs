using System.Text;
using Broker.Subjects;

namespace Broker.Tests.Subjects;

public sealed class ClaimsFlattenerTests
{
    [Fact]
    public void Flatten_NestedObjectsAndArrays_ByPath()
    {
        var payload = Encoding.UTF8.GetBytes("""{"sub":"x","n":3,"b":true,"kubernetes.io":{"namespace":"payments","serviceaccount":{"name":"bot"}},"groups":["a","b",{"skip":1}]}""");

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

        var claims = ClaimsFlattener.Flatten(Encoding.UTF8.GetBytes(json.ToString()));

        Assert.True(claims.Count <= 256);
        Assert.DoesNotContain(claims.Keys, k => k.Count(c => c == '/') >= 4);
    }

    [Fact]
    public void Flatten_APathSpelledTwice_IsDropped()
    {
        // "a/b" and "a": {"b"} flatten to the same path: neither may silently win.
        var claims = ClaimsFlattener.Flatten(Encoding.UTF8.GetBytes("""{"a/b":"x","a":{"b":"y","c":"z"},"d":"w"}"""));

        Assert.False(claims.ContainsKey("a/b"));
        Assert.Equal(["z"], claims["a/c"]);
        Assert.Equal(["w"], claims["d"]);
    }

    [Fact]
    public void Flatten_EscapesAndNumbers_AsWritten()
    {
        var claims = ClaimsFlattener.Flatten(Encoding.UTF8.GetBytes("""{"n\u0061me":"\u00e9t\u00e9","big":1e400,"neg":-0.5,"nil":null,"deep":{"a":{"b":{"c":{"d":1}}}}}"""));

        Assert.Equal(["été"], claims["name"]);
        Assert.Equal(["1e400"], claims["big"]);
        Assert.Equal(["-0.5"], claims["neg"]);
        Assert.False(claims.ContainsKey("nil"));
        Assert.DoesNotContain(claims.Keys, k => k.StartsWith("deep/a/b/c", StringComparison.Ordinal));
    }
}
