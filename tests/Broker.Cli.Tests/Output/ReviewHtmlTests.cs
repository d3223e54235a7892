using Broker.Cli.Output;
using Broker.Policy.Review;

namespace Broker.Cli.Tests.Output;

/// <summary>The HTML review page: self-contained, and every value from the broker shown as text, never as markup.</summary>
public sealed class ReviewHtmlTests
{
    public static TheoryData<string> Payloads => new(
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>",
        "\"><svg onload=alert(1)>",
        "</td></tr></table><iframe src=https://evil.test>",
        "<style>body{display:none}</style>",
        "<!-- --><a href=\"javascript:alert(1)\">x</a>",
        "&lt;already-encoded&gt;",
        "'; alert(1); '");

    [Theory]
    [MemberData(nameof(Payloads))]
    public void Render_HostileValuesEverywhere_StayText(string payload)
    {
        // Arrange: the payload in every string a workload or policy author controls.
        var review = new AccessReview(
            payload,
            payload,
            new DateTimeOffset(2026, 12, 2, 10, 0, 0, TimeSpan.Zero),
            30,
            new DateOnly(2026, 11, 3),
            new DateOnly(2026, 12, 2),
            new ReviewUsage(3, 1, 10),
            [
                new CapabilityReview(
                    payload, payload, payload, [payload],
                    new CallerConditionsReview(payload, false, 1, [payload], true),
                    [new PublisherReview(payload, payload, DateTimeOffset.UnixEpoch, 1)],
                    [new ToolReview(payload, payload, payload)],
                    [new RuleReview(payload, payload, [payload], [payload], [payload], [payload], new CallerConditionsReview(payload, null, null, null, null), payload, [payload])],
                    3,
                    [new IdentityUse(payload, 3)],
                    true,
                    [payload],
                    [new IdentityUse(payload, 1)]),
            ],
            [new UnusedEntitlement(payload, payload, payload, payload)],
            [new PartialUse(payload, payload, payload, [payload], [payload])],
            true);

        // Act
        var html = ReviewHtml.Render(review);

        // Assert: no markup but the page's own, no reference to anything outside it.
        var tags = System.Text.RegularExpressions.Regex.Matches(html, "<([a-zA-Z!/][a-zA-Z0-9]*)").Select(m => m.Groups[1].Value.ToLowerInvariant()).Distinct().Order().ToArray();
        Assert.Equal(["!doctype", "/body", "/code", "/h1", "/h2", "/h3", "/head", "/html", "/p", "/style", "/table", "/td", "/th", "/title", "/tr", "body", "code", "h1", "h2", "h3", "head", "html", "meta", "p", "style", "table", "td", "th", "title", "tr"], tags);
        Assert.All(
            System.Text.RegularExpressions.Regex.Matches(html, "<[^>]*>").Select(m => m.Value),
            tag => Assert.DoesNotMatch(@"\s(src|href|on[a-z]+)\s*=", tag));
        Assert.Contains("default-src 'none'", html, StringComparison.Ordinal);
        Assert.Contains("class=\"warn\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_EmptyReview_IsAWholePage()
    {
        var review = new AccessReview("acme", "v", DateTimeOffset.UnixEpoch, 1, new DateOnly(1970, 1, 1), new DateOnly(1970, 1, 1), new ReviewUsage(0, 0, 10), [], [], [], false);

        var html = ReviewHtml.Render(review);

        Assert.StartsWith("<!DOCTYPE html>", html, StringComparison.Ordinal);
        Assert.EndsWith("</html>\n", html, StringComparison.Ordinal);
        Assert.DoesNotContain("class=\"warn\"", html, StringComparison.Ordinal);
    }
}
