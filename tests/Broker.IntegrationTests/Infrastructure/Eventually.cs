using System.Diagnostics;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Waits for a condition by polling, failing the test past a generous deadline. Tests wait on
/// outcomes, never on wall-clock durations.
/// </summary>
public static class Eventually
{
    public static async Task HoldsAsync(Func<Task<bool>> condition, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var watch = Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(watch.Elapsed < timeout, $"The condition did not hold within {timeout.TotalSeconds:0} s.");
            await Task.Delay(50, cancellationToken);
        }
    }

    public static Task HoldsAsync(Func<bool> condition, TimeSpan timeout, CancellationToken cancellationToken = default) =>
        HoldsAsync(() => Task.FromResult(condition()), timeout, cancellationToken);
}
