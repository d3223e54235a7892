using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Broker.Validation.Mcp.Internal;

namespace Broker.Validation.Tests.Unit;

/// <summary>RFC 8785 (JCS), with the RFC's own examples.</summary>
public sealed class CanonicalJsonTests
{
    [Fact]
    public void Serialize_Rfc8785Section323Example_MatchesTheRfc()
    {
        // Arrange: RFC 8785 §3.2.3 input and output.
        const string Input = """
            {
              "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
              "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
              "literals": [null, true, false]
            }
            """;
        const string Expected = """{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}""";
        using var document = JsonDocument.Parse(Input);

        // Act
        var canonical = CanonicalJson.Serialize(document.RootElement);

        // Assert
        Assert.Equal(Expected, canonical);
    }

    [Theory]
    // RFC 8785 Appendix B: IEEE 754 bit patterns and their ECMAScript text.
    [InlineData("0000000000000000", "0")]
    [InlineData("8000000000000000", "0")]
    [InlineData("0000000000000001", "5e-324")]
    [InlineData("8000000000000001", "-5e-324")]
    [InlineData("7fefffffffffffff", "1.7976931348623157e+308")]
    [InlineData("ffefffffffffffff", "-1.7976931348623157e+308")]
    [InlineData("4340000000000000", "9007199254740992")]
    [InlineData("c340000000000000", "-9007199254740992")]
    [InlineData("4430000000000000", "295147905179352830000")]
    [InlineData("44b52d02c7e14af5", "9.999999999999997e+22")]
    [InlineData("44b52d02c7e14af6", "1e+23")]
    [InlineData("44b52d02c7e14af7", "1.0000000000000001e+23")]
    [InlineData("444b1ae4d6e2ef4e", "999999999999999700000")]
    [InlineData("444b1ae4d6e2ef4f", "999999999999999900000")]
    [InlineData("444b1ae4d6e2ef50", "1e+21")]
    [InlineData("3eb0c6f7a0b5ed8c", "9.999999999999997e-7")]
    [InlineData("3eb0c6f7a0b5ed8d", "0.000001")]
    [InlineData("41b3de4355555553", "333333333.3333332")]
    [InlineData("41b3de4355555554", "333333333.33333325")]
    [InlineData("41b3de4355555555", "333333333.3333333")]
    [InlineData("41b3de4355555556", "333333333.3333334")]
    [InlineData("41b3de4355555557", "333333333.33333343")]
    [InlineData("becbf647612f3696", "-0.0000033333333333333333")]
    [InlineData("43143ff3c1cb0959", "1424953923781206.2")]
    public void WriteNumber_Rfc8785AppendixB(string bits, string expected)
    {
        // Arrange
        var value = BitConverter.Int64BitsToDouble(long.Parse(bits, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
        var builder = new StringBuilder();

        // Act
        CanonicalJson.WriteNumber(builder, value);

        // Assert
        Assert.Equal(expected, builder.ToString());
    }

    [Fact]
    public void Sha256_SameJsonDifferentlyWritten_SameHash()
    {
        // Arrange
        using var a = JsonDocument.Parse("""{"b":[1.0, 2e0],"a":"\u00e9"}""");
        using var b = JsonDocument.Parse("""{ "a" : "é", "b" : [ 1, 2 ] }""");

        // Act + Assert
        Assert.Equal(CanonicalJson.Sha256(a.RootElement), CanonicalJson.Sha256(b.RootElement));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("""{"a":"é","b":[1,2]}"""))), CanonicalJson.Sha256(a.RootElement));
    }

    [Fact]
    public void Sha256_DictionaryAndElement_AgreeAndAbsentIsEmptyObject()
    {
        // Arrange
        using var document = JsonDocument.Parse("""{"path":"x","n":{"z":1,"y":[true,null]}}""");
        var dictionary = document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone());

        // Act + Assert
        Assert.Equal(CanonicalJson.Sha256(document.RootElement), CanonicalJson.Sha256(dictionary));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("{}"u8)), CanonicalJson.Sha256((IDictionary<string, JsonElement>?)null));
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData("{}"u8)), CanonicalJson.Sha256(default(JsonElement)));
    }

    [Fact]
    public void Sha256_DuplicateMember_Throws()
    {
        // Arrange
        using var document = JsonDocument.Parse("""{"a":1,"a":2}""");

        // Act + Assert
        Assert.Throws<FormatException>(() => CanonicalJson.Sha256(document.RootElement));
    }

    [Fact]
    public void Serialize_MembersSortedByUtf16CodeUnits()
    {
        // Arrange: RFC 8785 §3.2.3 sorting example ("\u20ac", "\r", "\ufb33", "1", "\ud83d\ude00", "\u0080", "\u00f6").
        using var document = JsonDocument.Parse("""{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}""");

        // Act
        var names = JsonDocument.Parse(CanonicalJson.Serialize(document.RootElement)).RootElement.EnumerateObject().Select(p => p.Value.GetString());

        // Assert
        Assert.Equal(["Carriage Return", "One", "Control", "Latin Small Letter O With Diaeresis", "Euro Sign", "Emoji: Grinning Face", "Hebrew Letter Dalet With Dagesh"], names);
    }
}
