namespace Broker.Policy.Tests;

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

    [Theory]
    // oidc:ISSUER#PATTERN: that issuer's identities only, whatever the matching mode.
    [InlineData("oidc:https://idp.test#robot", IdentityKind.Oidc, "https://idp.test", "robot", SourceMatching.AnySource, true)]
    [InlineData("oidc:https://idp.test#robot", IdentityKind.Oidc, "https://other.test", "robot", SourceMatching.AnySource, false)]
    [InlineData("oidc:https://idp.test#robot", IdentityKind.Oidc, "https://idp.test/", "robot", SourceMatching.AnySource, false)]
    [InlineData("oidc:https://idp.test#robot", IdentityKind.Broker, "https://idp.test", "robot", SourceMatching.AnySource, false)]
    [InlineData("oidc:https://idp.test#spiffe://k8s.test/ns/*/sa/bot", IdentityKind.Oidc, "https://idp.test", "spiffe://k8s.test/ns/a/sa/bot", SourceMatching.Implied, true)]
    [InlineData("oidc:https://idp.test#spiffe://k8s.test/ns/*/sa/bot", IdentityKind.SpiffeJwt, "k8s.test", "spiffe://k8s.test/ns/a/sa/bot", SourceMatching.Implied, false)]
    // A SPIFFE pattern, read strictly (admins): the trust domain's own SVIDs only.
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.SpiffeJwt, "acme.test", "spiffe://acme.test/admins/alice", SourceMatching.Implied, true)]
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.SpiffeX509, "acme.test", "spiffe://acme.test/admins/alice", SourceMatching.Implied, true)]
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.Oidc, "https://idp.test", "spiffe://acme.test/admins/alice", SourceMatching.Implied, false)]
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.Broker, "https://broker.test", "spiffe://acme.test/admins/alice", SourceMatching.Implied, false)]
    // Read as rules do: any source that placed the identity in the tenant.
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.Oidc, "https://idp.test", "spiffe://acme.test/admins/alice", SourceMatching.AnySource, true)]
    [InlineData("spiffe://acme.test/admins/*", IdentityKind.Broker, "https://broker.test", "spiffe://acme.test/admins/alice", SourceMatching.AnySource, true)]
    // A bare name, read strictly: OIDC identities only.
    [InlineData("root", IdentityKind.Oidc, "https://idp.test", "root", SourceMatching.Implied, true)]
    [InlineData("root", IdentityKind.Broker, "https://broker.test", "root", SourceMatching.Implied, false)]
    public void Matches_WithSource_Table(string pattern, IdentityKind kind, string source, string id, SourceMatching matching, bool expected)
    {
        Assert.True(SubjectPattern.TryCompile(pattern, out var compiled, out var error), error);
        Assert.Equal(expected, compiled!.Matches(kind, source, id, matching));
    }

    [Fact]
    public void Matches_ByStringOnly_NeverMatchesASourceQualifiedPattern()
    {
        Assert.True(SubjectPattern.TryCompile("oidc:https://idp.test#robot", out var compiled, out _));

        Assert.Equal("https://idp.test", compiled!.Issuer);
        Assert.False(compiled.Matches("robot"));
        Assert.False(compiled.Matches("oidc:https://idp.test#robot"));
    }

    [Theory]
    [InlineData("oidc:https://idp.test")]
    [InlineData("oidc:https://idp.test#")]
    [InlineData("oidc:#robot")]
    [InlineData("oidc:idp.test#robot")]
    [InlineData("oidc:ftp://idp.test#robot")]
    [InlineData("oidc:https://user@idp.test#robot")]
    [InlineData("oidc:https://idp.test?a=b#robot")]
    [InlineData("oidc:https://idp.test#oidc:https://idp.test#robot")]
    [InlineData("oidc:https://idp.test#system:*:bot")]
    [InlineData("oidc:https://idp.test#spiffe://*.k8s.test/x")]
    public void TryCompile_InvalidSourceQualifiedPattern_Fails(string pattern)
    {
        Assert.False(SubjectPattern.TryCompile(pattern, out var compiled, out var error));
        Assert.Null(compiled);
        Assert.False(string.IsNullOrEmpty(error));
    }

    [Theory]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/agents/reader", true)]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/agents/writer", false)]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/agents/*", true)]
    [InlineData("spiffe://acme.test/agents/reader", "spiffe://acme.test/**", true)]
    [InlineData("spiffe://acme.test/agents", "spiffe://acme.test/agents/**", false)]      // '**' is one or more segments
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/*/reader", true)]      // spiffe://acme.test/agents/reader
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/*/*", true)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/*", false)]            // two segments against one
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/bots/*", false)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents/**", true)]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/agents/x/**", false)]  // three or more segments against two
    [InlineData("spiffe://acme.test/agents/a", "spiffe://acme.test/agents/*/**", false)]  // needs at least two segments after agents
    [InlineData("spiffe://acme.test/agents/a/b", "spiffe://acme.test/agents/*/**", true)]
    [InlineData("spiffe://acme.test/agents/**", "spiffe://acme.test/*/x/**", true)]       // spiffe://acme.test/agents/x/y
    [InlineData("spiffe://acme.test/a/**", "spiffe://acme.test/b/**", false)]
    [InlineData("spiffe://acme.test/**", "spiffe://other.test/**", false)]                // the trust domain is exact
    [InlineData("system:serviceaccount:a:b", "system:serviceaccount:a:b", true)]
    [InlineData("system:serviceaccount:a:b", "system:serviceaccount:a:c", false)]
    [InlineData("system:serviceaccount:a:b", "spiffe://acme.test/**", false)]
    [InlineData("oidc:https://one.test#bot", "oidc:https://two.test#bot", false)]         // different sources never overlap
    [InlineData("oidc:https://one.test#bot", "oidc:https://one.test#bot", true)]
    [InlineData("oidc:https://one.test#bot", "bot", true)]
    public void Overlaps_IsSymmetricAndExact(string first, string second, bool expected)
    {
        // Arrange
        Assert.True(SubjectPattern.TryCompile(first, out var a, out var error), error);
        Assert.True(SubjectPattern.TryCompile(second, out var b, out error), error);

        // Act + Assert: both ways round.
        Assert.Equal(expected, a!.Overlaps(b!));
        Assert.Equal(expected, b!.Overlaps(a));
    }

    [Theory]
    [InlineData("spiffe://acme.test/agents/*", "spiffe://acme.test/*/reader", "spiffe://acme.test/agents/reader")]
    [InlineData("spiffe://acme.test/agents/**", "spiffe://acme.test/*/x/**", "spiffe://acme.test/agents/x/y")]
    [InlineData("spiffe://acme.test/*/*/c", "spiffe://acme.test/a/**", "spiffe://acme.test/a/b/c")]
    public void Overlaps_WhenTrue_SomeIdentityMatchesBoth(string first, string second, string witness)
    {
        // Arrange
        SubjectPattern.TryCompile(first, out var a, out _);
        SubjectPattern.TryCompile(second, out var b, out _);

        // Act + Assert: the overlap is real, not a guess.
        Assert.True(a!.Overlaps(b!));
        Assert.True(a.Matches(witness));
        Assert.True(b!.Matches(witness));
    }
}
