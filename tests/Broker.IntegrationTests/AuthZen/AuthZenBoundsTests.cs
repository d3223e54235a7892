using System.Net;
using Broker.Audit;

namespace Broker.IntegrationTests.AuthZen;

/// <summary>
/// Bounded latency at a failing or slow decision point: after 3 failures in a row its circuit opens and it is no longer
/// called; with 2 evaluations in flight the next exchange that needs it is refused at once instead of waiting.
/// </summary>
public sealed class AuthZenBoundsTests(AuthZenBoundsFixture fixture) : IClassFixture<AuthZenBoundsFixture>
{
    [Fact]
    public async Task FailingDecisionPoint_CircuitOpensAfterThreeFailures_ThenItIsNotCalled()
    {
        // Arrange: "flaky" answers every evaluation 500.
        var before = (await fixture.Pdp.CallsForAsync("flaky.read")).Count;

        // Act
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 5; i++)
        {
            statuses.Add((await fixture.ExchangeAsync("/agents/reader", "flaky.read", "bounds-flaky-" + i)).Status);
        }

        // Assert: all refused; only the first three reached the decision point.
        Assert.All(statuses, s => Assert.Equal(HttpStatusCode.ServiceUnavailable, s));
        Assert.Equal(before + 3, (await fixture.Pdp.CallsForAsync("flaky.read")).Count);
        Assert.Equal(5, fixture.Host.AuditTrail.Count(e => e.TaskId?.StartsWith("bounds-flaky-", StringComparison.Ordinal) == true && e.Reason == "authzen.unavailable"));
    }

    [Fact]
    public async Task TwoEvaluationsInFlight_TheThirdIsRefusedAtOnce_NotQueued()
    {
        // Arrange: "hang" never answers and waits 10 s; two exchanges occupy both of its slots.
        var hanging = new[]
        {
            fixture.ExchangeAsync("/agents/reader", "hang.read", "bounds-hang-1"),
            fixture.ExchangeAsync("/agents/reader", "hang.read", "bounds-hang-2"),
        };
        await Infrastructure.Eventually.HoldsAsync(async () => (await fixture.Pdp.CallsForAsync("hang.read")).Count == 2, TimeSpan.FromSeconds(9));

        // Act
        var third = await fixture.ExchangeAsync("/agents/reader", "hang.read", "bounds-hang-3");
        var inFlightWhenRefused = hanging.Count(t => !t.IsCompleted);

        // Assert: refused without a call, while the first two were still waiting.
        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.Status);
        Assert.Equal(2, (await fixture.Pdp.CallsForAsync("hang.read")).Count);
        Assert.Equal(2, inFlightWhenRefused);
        Assert.All(await Task.WhenAll(hanging), r => Assert.Equal(HttpStatusCode.ServiceUnavailable, r.Status));
        Assert.Equal(3, fixture.Host.AuditTrail.Count(e => e.TaskId?.StartsWith("bounds-hang-", StringComparison.Ordinal) == true && e.Reason == "authzen.unavailable" && e.Outcome == AuditOutcome.Denied));
    }
}
