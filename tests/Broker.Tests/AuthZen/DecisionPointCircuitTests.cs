using Broker.AuthZen;
using static Broker.AuthZen.DecisionPointCircuit;

namespace Broker.Tests.AuthZen;

/// <summary>One decision point's bounds: calls in flight, and the circuit that stops calling a failing decision point.</summary>
public sealed class DecisionPointCircuitTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 2, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan OpenFor = TimeSpan.FromSeconds(30);

    [Fact]
    public void TryEnter_AtTheConcurrencyLimit_RefusesUntilASlotIsFree()
    {
        // Arrange
        var circuit = new DecisionPointCircuit(maxConcurrent: 2, failuresToOpen: 5, OpenFor);

        // Act
        var first = circuit.TryEnter(Now, out _);
        var second = circuit.TryEnter(Now, out _);
        var third = circuit.TryEnter(Now, out _);
        circuit.Exit(answered: true, trial: false, Now);
        var afterExit = circuit.TryEnter(Now, out _);

        // Assert
        Assert.Null(first);
        Assert.Null(second);
        Assert.Equal("too many evaluations in flight", third);
        Assert.Null(afterExit);
    }

    [Fact]
    public void Exit_FailuresInARow_OpenTheCircuit_WhichRefusesUntilItsTimeIsUp()
    {
        // Arrange
        var circuit = new DecisionPointCircuit(maxConcurrent: 10, failuresToOpen: 3, OpenFor);
        var changes = new List<CircuitChange>();

        // Act
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(circuit.TryEnter(Now, out _));
            changes.Add(circuit.Exit(answered: false, trial: false, Now));
        }

        // Assert
        Assert.Equal([CircuitChange.None, CircuitChange.None, CircuitChange.Opened], changes);
        Assert.Equal("circuit open", circuit.TryEnter(Now, out _));
        Assert.Equal("circuit open", circuit.TryEnter(Now + OpenFor - TimeSpan.FromTicks(1), out _));
    }

    [Fact]
    public void Exit_ADecisionBetweenFailures_StartsTheCountAgain()
    {
        // Arrange
        var circuit = new DecisionPointCircuit(maxConcurrent: 10, failuresToOpen: 3, OpenFor);

        // Act: fail, fail, answer (a deny is an answer), fail, fail.
        foreach (var answered in new[] { false, false, true, false, false })
        {
            Assert.Null(circuit.TryEnter(Now, out _));
            circuit.Exit(answered, trial: false, Now);
        }

        // Assert: still closed.
        Assert.Null(circuit.TryEnter(Now, out _));
    }

    [Fact]
    public void OpenCircuit_AfterItsTime_LetsOneTrialThrough_ASuccessClosesIt()
    {
        // Arrange
        var circuit = Opened();
        var later = Now + OpenFor;

        // Act
        var trial = circuit.TryEnter(later, out var isTrial);
        var meanwhile = circuit.TryEnter(later, out _);
        var change = circuit.Exit(answered: true, trial: isTrial, later);
        var after = circuit.TryEnter(later, out var afterIsTrial);

        // Assert
        Assert.Null(trial);
        Assert.True(isTrial);
        Assert.Equal("circuit open", meanwhile);
        Assert.Equal(CircuitChange.Closed, change);
        Assert.Null(after);
        Assert.False(afterIsTrial);
    }

    [Fact]
    public void OpenCircuit_TrialFails_OpensAgainForAnotherPeriod()
    {
        // Arrange
        var circuit = Opened();
        var later = Now + OpenFor;

        // Act
        Assert.Null(circuit.TryEnter(later, out var isTrial));
        var change = circuit.Exit(answered: false, trial: isTrial, later);

        // Assert
        Assert.Equal(CircuitChange.Opened, change);
        Assert.Equal("circuit open", circuit.TryEnter(later + OpenFor - TimeSpan.FromTicks(1), out _));
        Assert.Null(circuit.TryEnter(later + OpenFor, out _));
    }

    [Fact]
    public void OpenCircuit_TrialCancelledByItsCaller_TheNextCallIsTheTrial()
    {
        // Arrange
        var circuit = Opened();
        var later = Now + OpenFor;
        Assert.Null(circuit.TryEnter(later, out var isTrial));

        // Act: the exchange went away; neither an answer nor a failure.
        var change = circuit.Exit(answered: null, trial: isTrial, later);

        // Assert
        Assert.Equal(CircuitChange.None, change);
        Assert.Null(circuit.TryEnter(later, out var nextIsTrial));
        Assert.True(nextIsTrial);
    }

    private static DecisionPointCircuit Opened()
    {
        var circuit = new DecisionPointCircuit(maxConcurrent: 10, failuresToOpen: 1, OpenFor);
        Assert.Null(circuit.TryEnter(Now, out _));
        Assert.Equal(CircuitChange.Opened, circuit.Exit(answered: false, trial: false, Now));
        return circuit;
    }
}
