using Broker.Authentication;

namespace Broker.Tests.Authentication;

public sealed class AdminOptionsValidatorTests
{
    private static bool Valid(params string[] admins)
    {
        var options = new AdminOptions();
        foreach (var admin in admins)
        {
            options.GlobalAdmins.Add(admin);
        }

        return new AdminOptionsValidator().Validate(null, options).Succeeded;
    }

    [Theory]
    [InlineData("spiffe://acme.test/platform/root")]
    [InlineData("spiffe://acme.test/platform/*")]
    [InlineData("oidc:https://idp.example#ops-admin")]
    [InlineData("oidc:https://idp.example/tenant/v2.0#system:serviceaccount:ops:admin")]
    [InlineData("oidc:https://idp.example#spiffe://k8s.example/ns/ops/sa/admin")]
    public void Validate_SourceQualified_Succeeds(string admin) => Assert.True(Valid(admin));

    [Theory]
    [InlineData("root")]                                    // any issuer could mint it
    [InlineData("system:serviceaccount:ops:admin")]
    [InlineData("oidc:https://idp.example")]               // no subject
    [InlineData("oidc:https://idp.example#")]
    [InlineData("oidc:idp.example#root")]                  // not a URL
    [InlineData("oidc:https://idp.example?x=1#root")]
    [InlineData("oidc:https://a.example#oidc:https://b.example#root")]
    [InlineData("spiffe://ACME.test/root")]
    public void Validate_NoOrBadSource_FailsTheStart(string admin) => Assert.False(Valid(admin));
}
