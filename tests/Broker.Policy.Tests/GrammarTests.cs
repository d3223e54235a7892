namespace Broker.Policy.Tests;

/// <summary>The one request grammar the broker, the policy loader, brokerctl and the client share.</summary>
public sealed class GrammarTests
{
    [Theory]
    [InlineData("task-42", true)]
    [InlineData("urn:task:a/b.c_d-e", true)]
    [InlineData("A", true)]
    [InlineData("", false)]
    [InlineData("task 42", false)]       // no spaces: the value ends up in log lines and keys
    [InlineData("task\n42", false)]
    [InlineData("tâche", false)]         // ASCII only
    [InlineData("a#b", false)]
    [InlineData("a?b", false)]
    [InlineData(Grammar.NoPurpose, false)] // the purpose of a grant that declared none can never be sent or listed
    public void IsTaskContextValue_Grammar(string value, bool valid) => Assert.Equal(valid, Grammar.IsTaskContextValue(value));

    [Fact]
    public void IsTaskContextValue_Length_1To128()
    {
        Assert.True(Grammar.IsTaskContextValue(new string('a', Grammar.MaxTaskContextLength)));
        Assert.False(Grammar.IsTaskContextValue(new string('a', Grammar.MaxTaskContextLength + 1)));
    }

    [Theory]
    [InlineData("files.read", true)]
    [InlineData("!#$%&'()*+,-./:;<=>?@[]^_`{|}~", true)] // every printable character RFC 6749 §3.3 allows
    [InlineData("", false)]
    [InlineData("files read", false)]    // the space separates scope tokens
    [InlineData("files\"read", false)]   // %x22
    [InlineData("files\\read", false)]   // %x5C
    [InlineData("files\u007Fread", false)]
    [InlineData("fichiers.lus\u00E9", false)]
    public void IsScopeToken_Rfc6749ScopeToken(string value, bool valid) => Assert.Equal(valid, Grammar.IsScopeToken(value));

    [Fact]
    public void IsScopeToken_Length_1To128()
    {
        Assert.True(Grammar.IsScopeToken(new string('a', Grammar.MaxNameLength)));
        Assert.False(Grammar.IsScopeToken(new string('a', Grammar.MaxNameLength + 1)));
    }

    [Theory]
    [InlineData("acme", true)]
    [InlineData("acme-eu.prod_1", true)]
    [InlineData("Acme", false)]          // lower case only: a tenant is a URL path segment and a key part
    [InlineData("acme corp", false)]
    [InlineData("acme/eu", false)]
    [InlineData("acme:eu", false)]
    [InlineData("", false)]
    public void IsTenantName_Grammar(string value, bool valid) => Assert.Equal(valid, Grammar.IsTenantName(value));

    [Theory]
    [InlineData("https://mcp.acme.test/files", false, true)]
    [InlineData("https://mcp.acme.test:8443/files?x=1", false, true)]
    [InlineData("https://mcp.acme.test/files#frag", false, false)]
    [InlineData("https://mcp.acme.test/files#", false, false)]      // an empty fragment is still one
    [InlineData("https://user@mcp.acme.test/files", false, false)]
    [InlineData("http://mcp.acme.test/files", true, false)]         // plain http only on loopback
    [InlineData("http://127.0.0.1:5090/mcp", false, false)]
    [InlineData("http://127.0.0.1:5090/mcp", true, true)]
    [InlineData("http://localhost/mcp", true, true)]
    [InlineData("http://[::1]/mcp", true, true)]
    [InlineData("files", false, false)]                             // relative: an audience, not a resource
    [InlineData("urn:example:files", false, false)]
    [InlineData("", false, false)]
    public void IsResourceUri_Rfc8707(string value, bool allowInsecureLoopback, bool valid) =>
        Assert.Equal(valid, Grammar.IsResourceUri(value, allowInsecureLoopback));

    [Fact]
    public void IsResourceUri_Length_AtMost2048()
    {
        var prefix = "https://mcp.acme.test/";
        Assert.True(Grammar.IsResourceUri(prefix + new string('a', Grammar.MaxResourceUriLength - prefix.Length), false));
        Assert.False(Grammar.IsResourceUri(prefix + new string('a', Grammar.MaxResourceUriLength - prefix.Length + 1), false));
    }
}
