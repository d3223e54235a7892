using System.Text;
using Broker.Jose;
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

    public static TheoryData<string> OddPayloads =>
    [
        """{"a":"\ud83d\ude00","b":"\u0000","c":1e400,"d":-0,"e":[[["x"]],{"f":1}],"g":{}}""",
        "{\"deep\":" + new string('[', 30) + "1" + new string(']', 30) + "}",
        string.Concat(Enumerable.Repeat("{\"o\":", 30)) + "{}" + new string('}', 30),
        """{"x/y":1,"x":{"y":2},"x/y/z":3,"a":[null,true,false,"s",2.5e-3]}""",
    ];

    [Theory]
    [MemberData(nameof(OddPayloads))]
    public void Flatten_WhateverTheGatePasses_ReadsWithoutThrowing(string json)
    {
        // The payload reaches the flattener only through the gate, as the validated bytes.
        var token = Base64Url("""{"alg":"ES256","kid":"k"}""") + "." + Base64Url(json) + ".AAAA";
        Assert.True(CompactJws.TryRead(token, new CompactJwsOptions(), out var jws, out var error), error.ToString());

        var claims = ClaimsFlattener.Flatten(jws.Payload);

        Assert.True(claims.Count <= 256);
    }

    private static string Base64Url(string text) => System.Buffers.Text.Base64Url.EncodeToString(Encoding.UTF8.GetBytes(text));
}
