namespace Broker.Policy.Tests;

public sealed class SubjectTemplateTests
{
    private static readonly Dictionary<string, IReadOnlyList<string>> Claims = new()
    {
        ["sub"] = ["system:serviceaccount:payments:bot"],
        ["kubernetes.io/namespace"] = ["payments"],
        ["kubernetes.io/serviceaccount/name"] = ["bot"],
        ["repo"] = ["octo/app"],
        ["groups"] = ["a", "b"],
        ["evil"] = ["a/../b"],
    };

    [Theory]
    [InlineData("{sub}", "system:serviceaccount:payments:bot")]
    [InlineData("{repo}", "octo/app")]
    [InlineData("spiffe://k8s/ns/{kubernetes.io/namespace}/sa/{kubernetes.io/serviceaccount/name}", "spiffe://k8s/ns/payments/sa/bot")]
    [InlineData("spiffe://gh/{repo}", null)]       // '/' inside a composed identity could forge a path
    [InlineData("spiffe://k8s/{evil}", null)]
    [InlineData("{missing}", null)]
    [InlineData("{groups}", null)]                 // multi-valued claims cannot name one identity
    public void Render_Table(string template, string? expected)
    {
        Assert.True(SubjectTemplate.TryParse(template, out var parsed, out var error), error);
        Assert.Equal(expected, parsed!.Render(Claims));
    }

    [Theory]
    [InlineData("no placeholders")]
    [InlineData("{unclosed")]
    [InlineData("empty {}")]
    public void TryParse_Invalid_Fails(string template)
    {
        Assert.False(SubjectTemplate.TryParse(template, out _, out var error));
        Assert.NotNull(error);
    }
}
