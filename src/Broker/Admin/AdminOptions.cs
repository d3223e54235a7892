namespace Broker.Admin;

/// <summary>Administration, bound from <c>Broker:Admin</c>.</summary>
public sealed class AdminOptions
{
    /// <summary>
    /// Subject patterns (policy syntax) of admins who act on every tenant. Empty by default: tenant
    /// admins are named in each tenant's policy (<c>admins:</c>).
    /// </summary>
    public IList<string> GlobalAdmins { get; } = [];
}
