using Broker.Policy;

namespace Broker.Tests.Policy;

public sealed class SubjectPatternTests
{
    [Theory]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/agents/reader", true)]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/agents/reader2", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents/reader", true)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents/a/b", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents/", false)]
    [InlineData("spiffe://acme.test/*/reader", "spiffe://acme.test/team/reader", true)]
    [InlineData("spiffe://acme.test/agents/**", "spiffe://acme.test/agents/a", true)]
    [InlineData("spiffe://acme.test/agents/**", "spiffe://acme.test/agents/a/b/c", true)]
    [InlineData("spiffe://acme.test/agents/**", "spiffe://acme.test/agents", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test.evil/agents/reader", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://evil.test/agents/reader", false)]
    [InlineData("system:serviceaccount:payments:bot", "system:serviceaccount:payments:bot", true)]
    [InlineData("system:serviceaccount:payments:bot", "system:serviceaccount:payments:bot2", false)]
    public void Matches_Table(string pattern, string subject, bool expected)
    {
        Assert.True(SubjectPattern.TryCompile(pattern, out var compiled, out var error), error);
        Assert.Equal(expected, compiled!.Matches(subject));
    }

    [Theory]
    [InlineData("")]
    [InlineData("spiffe://*.acme.test/agents/x")]
    [InlineData("spiffe://acme.test/**/x")]
    [InlineData("spiffe://acme.test/agent*")]
    [InlineData("spiffe://acme.test/agents/../x")]
    [InlineData("spiffe://ACME.test/agents/x")]
    [InlineData("system:serviceaccount:*:bot")]
    [InlineData("spiffe://acme.test")]
    public void TryCompile_InvalidPattern_Fails(string pattern)
    {
        Assert.False(SubjectPattern.TryCompile(pattern, out _, out var error) && !pattern.Equals("spiffe://acme.test", StringComparison.Ordinal));
        if (pattern != "spiffe://acme.test")
        {
            Assert.False(string.IsNullOrEmpty(error));
        }
    }
}
