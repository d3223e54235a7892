using System.Text;
using Broker.AuthZen;

namespace Broker.Tests.AuthZen;

/// <summary>
/// How an Access Evaluation response's body is read (OpenID AuthZEN 1.0 §6.2): exactly one JSON object whose
/// top-level <c>decision</c> is a JSON boolean; anything else is no decision, never a permit.
/// </summary>
public sealed class DecisionPointClientTests
{
    [Theory]
    [InlineData("""{"decision":true}""", true)]
    [InlineData("""{"decision":false}""", false)]
    [InlineData("""{ "decision" : true , "context": {"reason_admin": {"en": "ok"}} }""", true)]
    [InlineData("""{"context":{"decision":false},"decision":true}""", true)]
    [InlineData("""  {"decision":false}  """, false)]
    public void ReadDecision_ADecision_IsRead(string body, bool expected)
    {
        // Act
        var decision = DecisionPointClient.ReadDecision(Encoding.UTF8.GetBytes(body));

        // Assert
        Assert.Equal(expected, decision);
    }

    [Theory]
    [InlineData("")]
    [InlineData("true")]
    [InlineData("[true]")]
    [InlineData("""{"decision":"true"}""")]
    [InlineData("""{"decision":1}""")]
    [InlineData("""{"decision":null}""")]
    [InlineData("""{"decision":{}}""")]
    [InlineData("""{"Decision":true}""")]
    [InlineData("""{"context":{"decision":true}}""")]
    [InlineData("""{}""")]
    [InlineData("""{"decision":false,"decision":true}""")]
    [InlineData("""{"decision":true,"decision":true}""")]
    [InlineData("""{"decision":true} {"decision":true}""")]
    [InlineData("""{"decision":true}x""")]
    [InlineData("""{"decision":tr""")]
    [InlineData("""{"decision":true""")]
    [InlineData("""{"decision":true,}""")]
    [InlineData("""{'decision':true}""")]
    public void ReadDecision_NoValidDecision_IsNull(string body)
    {
        // Act
        var decision = DecisionPointClient.ReadDecision(Encoding.UTF8.GetBytes(body));

        // Assert
        Assert.Null(decision);
    }

    [Fact]
    public void ReadDecision_NestedBeyondTheDepthLimit_IsNull()
    {
        // Arrange: a decision, then a context nested deeper than any real one.
        var body = """{"decision":true,"context":""" + new string('[', 100) + new string(']', 100) + "}";

        // Act
        var decision = DecisionPointClient.ReadDecision(Encoding.UTF8.GetBytes(body));

        // Assert
        Assert.Null(decision);
    }
}
