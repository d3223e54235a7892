using Broker.Grants;

namespace Broker.Tests.Grants;

/// <summary>Member-by-member comparison of grants (lists compared by content, not by reference).</summary>
internal static class GrantAssert
{
    public static void Same(GrantRecord expected, GrantRecord? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Tenant, actual.Tenant);
        Assert.Equal(expected.Subject, actual.Subject);
        Assert.Equal(expected.ClientId, actual.ClientId);
        Assert.Equal(expected.ActorChain, actual.ActorChain);
        Assert.Equal(expected.Capabilities, actual.Capabilities);
        Assert.Equal(expected.Audience, actual.Audience);
        Assert.Equal(expected.TaskId, actual.TaskId);
        Assert.Equal(expected.Purpose, actual.Purpose);
        Assert.Equal(expected.IssuedAt, actual.IssuedAt);
        Assert.Equal(expected.ExpiresAt, actual.ExpiresAt);
        Assert.Equal(expected.Binding, actual.Binding);
        Assert.Equal(expected.PolicyVersion, actual.PolicyVersion);
        Assert.Equal(expected.ParentGrantId, actual.ParentGrantId);
        Assert.Equal(expected.ConsumerTenant, actual.ConsumerTenant);
        Assert.Equal(expected.StatusIndex, actual.StatusIndex);
        Assert.Equal(expected.Status, actual.Status);
        Assert.Equal(expected.Revocation, actual.Revocation);
    }
}
