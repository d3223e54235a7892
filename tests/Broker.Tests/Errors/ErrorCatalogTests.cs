using System.Reflection;
using Broker.Errors;
using Broker.Jose.DPoP;

namespace Broker.Tests.Errors;

public sealed class ErrorCatalogTests
{
    private static readonly ErrorDescriptor[] Entries = typeof(ErrorCatalog)
        .GetFields(BindingFlags.Public | BindingFlags.Static)
        .Where(f => f.FieldType == typeof(ErrorDescriptor))
        .Select(f => (ErrorDescriptor)f.GetValue(null)!)
        .ToArray();

    public static TheoryData<string> SubjectReasons => [.. Entries.Where(e => e.Reason.StartsWith("subject.", StringComparison.Ordinal)).Select(e => e.Reason)];

    [Fact]
    public void Catalog_ReasonCodes_AreUnique_IncludingThoseDerivedForActorsAndAssertions()
    {
        // Arrange
        var derived = Entries.Select(ErrorCatalog.ForActor).Concat(Entries.Select(ErrorCatalog.ForAssertion));

        // Act
        var clashes = Entries.Concat(derived).DistinctBy(e => (e.Reason, e.Description))
            .GroupBy(e => e.Reason, StringComparer.Ordinal)
            .Where(g => g.Count() > 1)
            .Select(g => g.Key)
            .ToList();

        // Assert: one reason code, one entry.
        Assert.Empty(clashes);
    }

    [Theory]
    [MemberData(nameof(SubjectReasons))]
    public void ForAssertion_SubjectReason_KeepsTheErrorAndStatus_AndNamesTheAssertion(string reason)
    {
        // Arrange
        var subject = Entries.Single(e => e.Reason == reason);

        // Act
        var assertion = ErrorCatalog.ForAssertion(subject);

        // Assert
        Assert.Equal("assertion." + reason["subject.".Length..], assertion.Reason);
        Assert.Equal((subject.Error, subject.StatusCode), (assertion.Error, assertion.StatusCode));
        Assert.DoesNotContain("subject_token", assertion.Description, StringComparison.Ordinal);
        Assert.Same(assertion, ErrorCatalog.ForAssertion(subject));
    }

    [Fact]
    public void ForAssertion_ReasonOutsideTheSubject_IsReturnedAsItIs()
    {
        Assert.Same(ErrorCatalog.ScopeNotAllowed, ErrorCatalog.ForAssertion(ErrorCatalog.ScopeNotAllowed));
        Assert.Same(ErrorCatalog.StoreUnavailable, ErrorCatalog.ForAssertion(ErrorCatalog.StoreUnavailable));
    }

    public static TheoryData<DPoPProofError> ProofErrors => [.. Enum.GetValues<DPoPProofError>().Where(e => e != DPoPProofError.None)];

    [Theory]
    [MemberData(nameof(ProofErrors))]
    public void ForDPoP_EveryProofError_HasItsOwnCatalogEntry_WithTheRfc9449Error(DPoPProofError error)
    {
        // Act
        var entry = ErrorCatalog.ForDPoP(error);

        // Assert: one field of the catalog per reason (so uniqueness is checked above), named after the core's code,
        // answered with the OAuth error the core maps it to; a server fault is a 503, the rest 400 (RFC 9449 §5, §8).
        Assert.Contains(entry, Entries);
        Assert.Equal("dpop." + error.ToReasonCode(), entry.Reason);
        Assert.Equal(error.ToOAuthError(), entry.Error);
        Assert.Equal(error == DPoPProofError.ReplayCacheUnavailable ? 503 : 400, entry.StatusCode);
    }
}
