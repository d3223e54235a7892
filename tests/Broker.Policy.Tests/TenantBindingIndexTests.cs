using System.Collections.Frozen;

namespace Broker.Policy.Tests;

/// <summary>
/// Placing an identity in its tenant through <see cref="TenantBindingIndex"/>: the same answer as trying every trust
/// entry of the source (the index only skips entries that cannot match), with one tenant on a trust domain or a
/// thousand.
/// </summary>
public sealed class TenantBindingIndexTests
{
    private static SubjectPattern Pattern(string text) =>
        SubjectPattern.TryCompile(text, out var pattern, out var error) ? pattern! : throw new ArgumentException(error, nameof(text));

    private static TenantBinding Binding(string tenant, params string[] subjects) => new(tenant, [.. subjects.Select(Pattern)], []);

    private static WorkloadIdentity Svid(string id, string trustDomain = "corp.example") => new()
    {
        Id = id,
        Kind = IdentityKind.SpiffeJwt,
        Source = trustDomain,
        Claims = new Dictionary<string, IReadOnlyList<string>>(),
        ExpiresAt = DateTimeOffset.UtcNow.AddMinutes(5),
        KeyId = "k",
    };

    /// <summary>A policy whose tenants all trust the one trust domain corp.example through <paramref name="bindings"/>.</summary>
    private static PolicySet SharedTrustDomain(IReadOnlyList<TenantBinding> bindings) => new()
    {
        Version = "sha256:test",
        Tenants = bindings.Select(b => b.Tenant).Distinct().ToFrozenDictionary(
            t => t,
            t => new TenantPolicy { Name = t, MaxLifetime = TimeSpan.FromMinutes(15), Capabilities = FrozenDictionary<string, Capability>.Empty, Rules = [] },
            StringComparer.Ordinal),
        TrustDomains = new Dictionary<string, TrustDomainSource>
        {
            ["corp.example"] = new("corp.example", new BundleSourceSpec(BundleSourceKind.File, "/bundle.json"), bindings),
        }.ToFrozenDictionary(StringComparer.Ordinal),
        OidcIssuers = FrozenDictionary<string, OidcIssuerSource>.Empty,
    };

    /// <summary>What tenant resolution answered before the index: every entry tried.</summary>
    private static (string? Tenant, PolicyDenialReason? Reason) Scan(IReadOnlyList<TenantBinding> bindings, string id)
    {
        string? found = null;
        foreach (var binding in bindings.Where(b => b.Matches(id, new Dictionary<string, IReadOnlyList<string>>())))
        {
            if (found is not null && found != binding.Tenant)
            {
                return (null, PolicyDenialReason.AmbiguousTenant);
            }

            found = binding.Tenant;
        }

        return found is null ? (null, PolicyDenialReason.NoTenant) : (found, null);
    }

    [Fact]
    public void ResolveTenant_AThousandTenantsOnOneTrustDomain_EachIdentityInItsOwn()
    {
        // Arrange: t0000 … t0999 each claim their own path, by wildcard, by '**' and by one exact ID.
        var bindings = Enumerable.Range(0, 1000)
            .Select(i => Binding($"t{i:D4}", $"spiffe://corp.example/t{i:D4}/*", $"spiffe://corp.example/svc/t{i:D4}/**", $"spiffe://corp.example/exact/t{i:D4}"))
            .ToList();
        var policy = SharedTrustDomain(bindings);

        // Act & Assert
        foreach (var i in new[] { 0, 1, 499, 998, 999 })
        {
            foreach (var id in new[] { $"spiffe://corp.example/t{i:D4}/agent", $"spiffe://corp.example/svc/t{i:D4}/a/b/c", $"spiffe://corp.example/exact/t{i:D4}" })
            {
                var (tenant, reason) = PolicyEvaluator.ResolveTenant(policy, Svid(id));
                Assert.Equal(($"t{i:D4}", (PolicyDenialReason?)null), (tenant?.Name, reason));
            }
        }

        // Nothing for identities no entry claims: one segment too many or too few, another path, a near-miss prefix.
        foreach (var id in new[] { "spiffe://corp.example/t0001/agent/extra", "spiffe://corp.example/t0001", "spiffe://corp.example/svc/t0001", "spiffe://corp.example/t00010/agent", "spiffe://corp.example/exact/t0001/x" })
        {
            Assert.Equal((null, PolicyDenialReason.NoTenant), Resolve(policy, id));
        }
    }

    private static (string? Tenant, PolicyDenialReason? Reason) Resolve(PolicySet policy, string id)
    {
        var (tenant, reason) = PolicyEvaluator.ResolveTenant(policy, Svid(id));
        return (tenant?.Name, reason);
    }

    [Fact]
    public void ResolveTenant_TwoTenantsMatchAmongMany_StillAmbiguous()
    {
        // Arrange: a policy the loader would refuse (overlap), built by hand: 500 tenants, two of which claim one agent,
        // one through a wildcard early in the path, one through an exact ID.
        var bindings = Enumerable.Range(0, 498).Select(i => Binding($"t{i:D4}", $"spiffe://corp.example/t{i:D4}/*")).ToList();
        bindings.Add(Binding("wide", "spiffe://corp.example/*/agent"));
        bindings.Add(Binding("narrow", "spiffe://corp.example/t0042/agent"));
        var policy = SharedTrustDomain(bindings);

        // Act & Assert
        Assert.Equal((null, PolicyDenialReason.AmbiguousTenant), Resolve(policy, "spiffe://corp.example/t0042/agent"));
        Assert.Equal(("wide", (PolicyDenialReason?)null), Resolve(policy, "spiffe://corp.example/t0600/agent"));
        Assert.Equal(("t0043", (PolicyDenialReason?)null), Resolve(policy, "spiffe://corp.example/t0043/other"));
    }

    [Fact]
    public void ResolveTenant_EntryWithoutSubjects_AlwaysACandidate()
    {
        // Arrange: one tenant takes the whole trust domain, another a path of it.
        var policy = SharedTrustDomain([Binding("all"), Binding("team", "spiffe://corp.example/team/*")]);

        // Act & Assert
        Assert.Equal(("all", (PolicyDenialReason?)null), Resolve(policy, "spiffe://corp.example/anything/at/all"));
        Assert.Equal((null, PolicyDenialReason.AmbiguousTenant), Resolve(policy, "spiffe://corp.example/team/a"));
    }

    [Fact]
    public void Candidates_RandomPatternsAndIdentities_SameAnswerAsTryingEveryEntry()
    {
        // Arrange: a fixed seed, so a failure reproduces; short segments so patterns and IDs often meet.
        var random = new Random(20261202);
        string Segment() => random.Next(4) switch { 0 => "a", 1 => "b", 2 => "ab", _ => "c" };
        string Path(int length) => string.Join('/', Enumerable.Range(0, length).Select(_ => Segment()));
        string PatternText()
        {
            var segments = Enumerable.Range(0, random.Next(1, 4)).Select(_ => random.Next(3) == 0 ? "*" : Segment()).ToList();
            if (random.Next(4) == 0)
            {
                segments.Add("**");
            }

            return "spiffe://corp.example/" + string.Join('/', segments);
        }

        for (var round = 0; round < 200; round++)
        {
            var bindings = Enumerable.Range(0, random.Next(1, 12))
                .Select(i => random.Next(10) == 0 ? Binding($"t{i % 4}") : Binding($"t{i % 4}", [.. Enumerable.Range(0, random.Next(1, 3)).Select(_ => PatternText())]))
                .ToList();
            var policy = SharedTrustDomain(bindings);
            for (var probe = 0; probe < 20; probe++)
            {
                var id = "spiffe://corp.example/" + Path(random.Next(1, 5));

                // Act
                var indexed = Resolve(policy, id);

                // Assert
                Assert.True(Scan(bindings, id) == indexed, $"{id} against [{string.Join("; ", bindings.Select(b => b.Tenant + ": " + string.Join(", ", b.Subjects)))}]");
            }
        }
    }

    [Fact]
    public void Candidates_OnlyTheEntriesThatCanMatch()
    {
        // Arrange
        List<TenantBinding> bindings =
        [
            Binding("a", "spiffe://corp.example/a/*"),
            Binding("b", "spiffe://corp.example/b/**"),
            Binding("c", "spiffe://corp.example/c/x"),
            Binding("d", "spiffe://corp.example/*/y"),
            Binding("e"),
        ];
        var index = new TenantBindingIndex(bindings);

        // Act
        var tenants = new List<string>();
        foreach (var binding in index.Candidates("spiffe://corp.example/b/y"))
        {
            tenants.Add(binding.Tenant);
        }

        // Assert: "e" (no subjects) and "d" (wildcard from the first segment) always; "b" by its prefix; not "a", not "c".
        Assert.Equal(["b", "d", "e"], tenants.Order());
    }
}
