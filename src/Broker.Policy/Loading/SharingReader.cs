using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>A <c>shares:</c> entry as read: the owner's capabilities, the tenants they go to, permissions, subject patterns.</summary>
internal sealed record ShareFragment(IReadOnlyList<string> Capabilities, IReadOnlyList<string> Tenants, CapabilityPermissions Permissions, IReadOnlyList<SubjectPattern> Subjects, YamlMappingNode Node);

/// <summary>An <c>accepts:</c> entry as read: the owning tenant and the capabilities taken in from it.</summary>
internal sealed record AcceptFragment(string Owner, IReadOnlyList<string> Capabilities, YamlMappingNode Node);

/// <summary>
/// Reads sharing across tenants (docs/sharing.md): the owner's <c>shares:</c> and the consumer's <c>accepts:</c>, and
/// compiles both sides into <see cref="TenantSharing"/> once every tenant is known. Names of tenants and capabilities
/// that do not exist, a tenant sharing with or accepting from itself, an entry twice and permissions other than
/// <c>discover</c> and <c>execute</c> are errors at their line; one-sided entries are not (nothing crosses, and
/// <c>brokerctl policy check</c> reports them).
/// </summary>
internal static class SharingReader
{
    /// <summary>The keys this reader owns, for the tenant's known-key list.</summary>
    public static readonly string[] Keys = ["shares", "accepts"];

    /// <summary>Reads <c>shares:</c> and <c>accepts:</c> of <paramref name="root"/> into <paramref name="fragment"/>.</summary>
    public static void Read(YamlPolicyReader r, YamlMappingNode root, TenantFragment fragment)
    {
        foreach (var node in r.Sequence(root, "shares", "a tenant"))
        {
            if (ReadShare(r, node) is { } share)
            {
                fragment.Shares.Add(share);
            }
        }

        foreach (var node in r.Sequence(root, "accepts", "a tenant"))
        {
            if (ReadAccept(r, node) is { } accept)
            {
                fragment.Accepts.Add(accept);
            }
        }
    }

    private static ShareFragment? ReadShare(YamlPolicyReader r, YamlNode node)
    {
        const string What = "a share";
        if (r.AsMapping(node, What) is not { } map)
        {
            return null;
        }

        r.RequireKnownKeys(map, What, "capabilities", "tenants", "permissions", "subjects");
        var capabilities = r.ScalarList(map, "capabilities", What, required: true) ?? [];
        var tenants = r.ScalarList(map, "tenants", What, required: true) ?? [];
        if (YamlPolicyReader.Get(map, "capabilities") is { } capabilitiesNode)
        {
            CheckNames(r, capabilitiesNode, capabilities, "capabilities", What, n => Grammar.IsScopeToken(n));
        }

        if (YamlPolicyReader.Get(map, "tenants") is { } tenantsNode)
        {
            CheckNames(r, tenantsNode, tenants, "tenants", What, n => Grammar.IsTenantName(n));
        }

        var permissions = CapabilityPermissions.None;
        var permissionList = r.ScalarList(map, "permissions", What, required: true);
        foreach (var permission in permissionList ?? [])
        {
            permissions |= permission switch
            {
                "discover" => CapabilityPermissions.Discover,
                "execute" => CapabilityPermissions.Execute,

                // Publishing stays with the owner: its MCP servers publish on its resources.
                _ => Fail(r, YamlPolicyReader.Get(map, "permissions")!, $"a share's permission must be discover or execute, not '{permission}'"),
            };
        }

        if (permissionList is { Count: 0 })
        {
            r.Error(YamlPolicyReader.Get(map, "permissions")!, "a share needs at least one permission: discover, execute");
        }

        // Optional: without subjects the share is for any identity of the consumer that the consumer's own rules allow.
        List<SubjectPattern> subjects = YamlPolicyReader.Get(map, "subjects") is null ? [] : TenantReader.ReadPatterns(r, map, "subjects", What);
        if (YamlPolicyReader.Get(map, "subjects") is { } subjectsNode && subjects.Count == 0 && r.ScalarList(map, "subjects", What) is { Count: 0 })
        {
            r.Error(subjectsNode, "'subjects' in a share needs at least one pattern; leave it out to share with every identity of the tenants");
        }

        return new ShareFragment(capabilities, tenants, permissions, subjects, map);
    }

    private static AcceptFragment? ReadAccept(YamlPolicyReader r, YamlNode node)
    {
        const string What = "an acceptance";
        if (r.AsMapping(node, What) is not { } map)
        {
            return null;
        }

        r.RequireKnownKeys(map, What, "tenant", "capabilities");
        var owner = r.Scalar(map, "tenant", What, required: true);
        if (owner is not null && !Grammar.IsTenantName(owner))
        {
            r.Error(YamlPolicyReader.Get(map, "tenant")!, "'tenant' in an acceptance must be 1-128 characters of a-z 0-9 . _ -");
            owner = null;
        }

        var capabilities = r.ScalarList(map, "capabilities", What, required: true) ?? [];
        if (YamlPolicyReader.Get(map, "capabilities") is { } capabilitiesNode)
        {
            CheckNames(r, capabilitiesNode, capabilities, "capabilities", What, n => Grammar.IsScopeToken(n));
        }

        return owner is null ? null : new AcceptFragment(owner, capabilities, map);
    }

    private static void CheckNames(YamlPolicyReader r, YamlNode node, List<string> names, string key, string what, Func<string, bool> valid)
    {
        if (names.Count == 0)
        {
            r.Error(node, $"'{key}' in {what} needs at least one name");
        }

        foreach (var name in names)
        {
            if (name == "*")
            {
                // Sharing is named, never implied: a capability added later must not cross without being written down.
                r.Error(node, $"'{key}' in {what} must name each entry; '*' is not allowed");
            }
            else if (!valid(name))
            {
                r.Error(node, $"'{name}' in '{key}' of {what} is not a valid name");
            }
        }
    }

    private static CapabilityPermissions Fail(YamlPolicyReader r, YamlNode node, string message)
    {
        r.Error(node, message);
        return CapabilityPermissions.None;
    }

    /// <summary>
    /// True when a rule of the tenant (<paramref name="parts"/>) may name <paramref name="name"/> because the tenant
    /// accepts it: <c>owner:capability</c> of one of its <c>accepts:</c> entries.
    /// </summary>
    public static bool IsAccepted(IEnumerable<TenantFragment> parts, string name)
    {
        var colon = name.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }

        var owner = name[..colon];
        var capability = name[(colon + 1)..];
        return parts.Any(p => p.Accepts.Any(a => a.Owner == owner && a.Capabilities.Contains(capability, StringComparer.Ordinal)));
    }

    /// <summary>
    /// Both sides of every tenant, checked against the tenants and capabilities that exist, into the policy's sharing.
    /// Errors go to the readers of the entries concerned.
    /// </summary>
    public static TenantSharing Compile(IReadOnlyList<TenantFragment> fragments, IReadOnlyDictionary<string, TenantPolicy> tenants)
    {
        var shares = new List<CapabilityShare>();
        var acceptances = new List<ShareAcceptance>();
        var seenShares = new Dictionary<(string Owner, string Capability, string Consumer), string>();
        var seenAccepts = new Dictionary<(string Consumer, string Owner, string Capability), string>();
        foreach (var part in fragments)
        {
            var r = part.Reader;
            foreach (var share in part.Shares)
            {
                var location = $"{r.File}:{share.Node.Start.Line}";
                var consumers = new List<string>();
                foreach (var consumer in share.Tenants.Distinct(StringComparer.Ordinal))
                {
                    if (consumer == part.Name)
                    {
                        r.Error(share.Node, $"tenant '{part.Name}' cannot share with itself");
                    }
                    else if (!tenants.ContainsKey(consumer))
                    {
                        r.Error(share.Node, $"share names tenant '{consumer}', which no policy file declares");
                    }
                    else
                    {
                        consumers.Add(consumer);
                    }
                }

                foreach (var capability in share.Capabilities.Distinct(StringComparer.Ordinal))
                {
                    if (capability == "*")
                    {
                        continue;
                    }

                    if (tenants.TryGetValue(part.Name, out var own) && !own.Capabilities.ContainsKey(capability))
                    {
                        r.Error(share.Node, $"share names capability '{capability}', which tenant '{part.Name}' does not declare");
                        continue;
                    }

                    foreach (var consumer in consumers)
                    {
                        if (!seenShares.TryAdd((part.Name, capability, consumer), location))
                        {
                            r.Error(share.Node, $"capability '{capability}' is already shared with tenant '{consumer}' at {seenShares[(part.Name, capability, consumer)]}");
                        }
                        else
                        {
                            shares.Add(new CapabilityShare(part.Name, consumer, capability, share.Permissions, share.Subjects, location));
                        }
                    }
                }
            }

            foreach (var accept in part.Accepts)
            {
                var location = $"{r.File}:{accept.Node.Start.Line}";
                if (accept.Owner == part.Name)
                {
                    r.Error(accept.Node, $"tenant '{part.Name}' cannot accept from itself");
                    continue;
                }

                if (!tenants.TryGetValue(accept.Owner, out var owner))
                {
                    r.Error(accept.Node, $"acceptance names tenant '{accept.Owner}', which no policy file declares");
                    continue;
                }

                foreach (var capability in accept.Capabilities.Distinct(StringComparer.Ordinal))
                {
                    if (capability == "*")
                    {
                        continue;
                    }

                    if (!owner.Capabilities.ContainsKey(capability))
                    {
                        r.Error(accept.Node, $"acceptance names capability '{capability}', which tenant '{accept.Owner}' does not declare");
                    }
                    else if (!seenAccepts.TryAdd((part.Name, accept.Owner, capability), location))
                    {
                        r.Error(accept.Node, $"capability '{capability}' of tenant '{accept.Owner}' is already accepted at {seenAccepts[(part.Name, accept.Owner, capability)]}");
                    }
                    else if (tenants.TryGetValue(part.Name, out var consumer) && consumer.Capabilities.ContainsKey(TenantSharing.QualifiedName(accept.Owner, capability)))
                    {
                        // The consumer's rules name what it accepts owner:capability; its own capability of that name
                        // would make a rule ambiguous.
                        r.Error(accept.Node, $"tenant '{part.Name}' declares a capability named '{TenantSharing.QualifiedName(accept.Owner, capability)}', the name its rules give this accepted one");
                    }
                    else
                    {
                        acceptances.Add(new ShareAcceptance(part.Name, accept.Owner, capability, location));
                    }
                }
            }
        }

        return shares.Count == 0 && acceptances.Count == 0 ? TenantSharing.None : new TenantSharing(shares, acceptances);
    }
}
