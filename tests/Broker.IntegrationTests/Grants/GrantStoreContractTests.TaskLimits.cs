using Broker.Grants;

namespace Broker.IntegrationTests.Grants;

/// <summary>
/// Task limits (<see cref="TaskLimitCheck"/>): checked and counted in the step that records the grant, so that two
/// exchanges of one task racing for the two halves of a forbidden pair never both succeed, on every store.
/// </summary>
public abstract partial class GrantStoreContractTests
{
    private static readonly TaskLimitCheck ReadAllNeedsNoSend = new() { ForbiddenRemainders = [["email.send_external"]] };
    private static readonly TaskLimitCheck SendNeedsNoReadAll = new() { ForbiddenRemainders = [["crm.read_all"]] };

    [Fact]
    public async Task RecordAsync_OtherHalfOfAForbiddenPairHeldByALiveGrantOfTheTask_IsRefusedAndWritesNothing()
    {
        // Arrange
        var task = "task-" + Guid.NewGuid().ToString("N");
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["crm.read_all"], ReadAllNeedsNoSend));
        var second = LimitedGrant(task, ["email.send_external", "files.read"], SendNeedsNoReadAll);

        // Act
        var result = await Store.RecordAsync(second, Issued(second), Ct);

        // Assert: nothing of it, not even its audit event; another task may hold it.
        Assert.Equal(RecordGrantResult.TaskForbiddenCombination, result);
        Assert.Null(await Store.FindAsync(second.Id, Ct));
        Assert.DoesNotContain(await Store.ReadAuditAsync(Tenant, 10, Ct), e => e.GrantId == second.Id);
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task + "-other", ["email.send_external"], SendNeedsNoReadAll));
    }

    [Theory]
    [InlineData("revoked")]
    [InlineData("expired")]
    public async Task RecordAsync_OtherHalfHeldOnlyByARevokedOrExpiredGrant_IsRecorded(string state)
    {
        // Arrange: only live grants hold anything (docs/policy.md, "Task limits").
        var task = "task-" + Guid.NewGuid().ToString("N");
        var first = LimitedGrant(task, ["crm.read_all"], ReadAllNeedsNoSend, state == "expired" ? ShortLifetime : null);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(first, Issued(first), Ct));
        if (state == "revoked")
        {
            Assert.IsType<Revoked>(await Store.RevokeAsync(first.Id, "agent", "done with the CRM", Ct));
        }
        else
        {
            await PassAsync(ShortLifetime + TimeSpan.FromMilliseconds(200));
        }

        // Act + Assert
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["email.send_external"], SendNeedsNoReadAll));
    }

    [Fact]
    public async Task RecordAsync_ForbiddenSetOfThree_IsRefusedOnlyOnceTheTaskHoldsBothOthers()
    {
        // Arrange: {a, b, c}; a grant of c must not join live grants that hold a and b between them.
        var task = "task-" + Guid.NewGuid().ToString("N");
        var forC = new TaskLimitCheck { ForbiddenRemainders = [["a", "b"]] };
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["a"], new TaskLimitCheck { ForbiddenRemainders = [["b", "c"]] }));

        // Act + Assert: with a alone held, c is fine; once b is held too (by a derived grant, whose parent's
        // record sits in the same step), it is not.
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["c"], forC));
        var parent = LimitedGrant(task, ["files.read"], null);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(parent, Issued(parent), Ct));
        var b = LimitedGrant(task, ["b"], new TaskLimitCheck { ForbiddenRemainders = [["a", "c"]] }) with { ParentGrantId = parent.Id };
        Assert.Equal(RecordGrantResult.TaskForbiddenCombination, await Store.RecordAsync(b, Issued(b), Ct));
        var derivedC = LimitedGrant(task, ["c"], forC) with { ParentGrantId = parent.Id };
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(derivedC, Issued(derivedC), Ct));
    }

    [Fact]
    public async Task RecordAsync_MaxGrants_RefusesTheGrantPastTheLimit_CountingRevokedOnes()
    {
        // Arrange
        var task = "task-" + Guid.NewGuid().ToString("N");
        var limit = new TaskLimitCheck { MaxGrants = 3 };
        var first = LimitedGrant(task, ["files.read"], limit);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(first, Issued(first), Ct));
        Assert.IsType<Revoked>(await Store.RevokeAsync(first.Id, "admin", "test", Ct));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["files.read"], limit));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["files.read"], limit));

        // Act
        var fourth = LimitedGrant(task, ["files.read"], limit);
        var result = await Store.RecordAsync(fourth, Issued(fourth), Ct);

        // Assert
        Assert.Equal(RecordGrantResult.TaskGrantLimit, result);
        Assert.Null(await Store.FindAsync(fourth.Id, Ct));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task + "-other", ["files.read"], limit));
    }

    [Fact]
    public async Task RecordAsync_MaxDuration_RefusesOnceItHasPassedSinceTheFirstGrant_EvenAfterEveryGrantExpired()
    {
        // Arrange: the task's only grant expires before the task's duration ends; the task is still remembered.
        var task = "task-" + Guid.NewGuid().ToString("N");
        var limit = new TaskLimitCheck { MaxDuration = 2 * ShortLifetime };
        var first = LimitedGrant(task, ["files.read"], limit, ShortLifetime);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(first, Issued(first), Ct));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["files.read"], limit));

        // Act
        await PassAsync((2 * ShortLifetime) + TimeSpan.FromMilliseconds(300));
        var late = LimitedGrant(task, ["files.read"], limit);
        var result = await Store.RecordAsync(late, Issued(late), Ct);

        // Assert
        Assert.Equal(RecordGrantResult.TaskDurationExceeded, result);
        Assert.Null(await Store.FindAsync(late.Id, Ct));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task + "-other", ["files.read"], limit));
    }

    [Fact]
    public async Task RecordAsync_TaskPastTwiceItsDuration_IsForgottenAndItsIdBeginsANewTask()
    {
        // Arrange: a task whose only grant expired, and whose duration ran out a duration ago.
        var task = "task-" + Guid.NewGuid().ToString("N");
        var limit = new TaskLimitCheck { MaxDuration = ShortLifetime, MaxGrants = 1 };
        var first = LimitedGrant(task, ["files.read"], limit, ShortLifetime);
        Assert.Equal(RecordGrantResult.Recorded, await Store.RecordAsync(first, Issued(first), Ct));
        Assert.Equal(RecordGrantResult.TaskGrantLimit, await RecordLimitedAsync(task, ["files.read"], new TaskLimitCheck { MaxGrants = 1 }));

        // Act
        await PassAsync((2 * ShortLifetime) + TimeSpan.FromMilliseconds(400));

        // Assert: its counters went with it.
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["files.read"], limit));
    }

    [Fact]
    public async Task RecordAsync_WithoutLimits_NeitherChecksNorCounts()
    {
        // Arrange: a task that had its most grants under a limit takes more once the limit is gone.
        var task = "task-" + Guid.NewGuid().ToString("N");
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["crm.read_all"], new TaskLimitCheck { MaxGrants = 1, ForbiddenRemainders = [["email.send_external"]] }));

        // Act + Assert
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["email.send_external"], null));
        Assert.Equal(RecordGrantResult.Recorded, await RecordLimitedAsync(task, ["files.read"], null));
    }

    [Fact]
    public async Task RecordAsync_TwoHalvesOfAForbiddenPairRacing_AtMostOneIsRecorded()
    {
        // Arrange: two replicas (two connections for Redis), many rounds, each a task of its own.
        var other = await CreateReplicaAsync();
        const int Rounds = 40;
        for (var round = 0; round < Rounds; round++)
        {
            var task = $"race-{round}-{Guid.NewGuid():N}";
            var readAll = LimitedGrant(task, ["crm.read_all"], ReadAllNeedsNoSend);
            var send = LimitedGrant(task, ["email.send_external"], SendNeedsNoReadAll);
            using var start = new ManualResetEventSlim();

            // Act: both on thread-pool threads, released together.
            var racing = new[]
            {
                Task.Run(async () => { start.Wait(Ct); return await Store.RecordAsync(readAll, Issued(readAll), Ct); }, Ct),
                Task.Run(async () => { start.Wait(Ct); return await other.RecordAsync(send, Issued(send), Ct); }, Ct),
            };
            start.Set();
            var results = await Task.WhenAll(racing);

            // Assert: one is recorded, the other refused and absent.
            Assert.Single(results, r => r == RecordGrantResult.Recorded);
            Assert.Single(results, r => r == RecordGrantResult.TaskForbiddenCombination);
            var refused = results[0] == RecordGrantResult.Recorded ? send : readAll;
            Assert.Null(await Store.FindAsync(refused.Id, Ct));
        }
    }

    [Fact]
    public async Task RecordAsync_ManyGrantsOfOneTaskRacingAMaxGrants_RecordsExactlyTheLimit()
    {
        // Arrange
        var other = await CreateReplicaAsync();
        var task = "task-" + Guid.NewGuid().ToString("N");
        var limit = new TaskLimitCheck { MaxGrants = 5 };
        var grants = Enumerable.Range(0, 24).Select(_ => LimitedGrant(task, ["files.read"], limit)).ToList();

        // Act
        var results = await Task.WhenAll(grants.Select((g, i) => Task.Run(async () => await (i % 2 == 0 ? Store : other).RecordAsync(g, Issued(g), Ct), Ct)));

        // Assert
        Assert.Equal(5, results.Count(r => r == RecordGrantResult.Recorded));
        Assert.Equal(19, results.Count(r => r == RecordGrantResult.TaskGrantLimit));
    }

    private GrantRecord LimitedGrant(string task, IReadOnlyList<string> capabilities, TaskLimitCheck? limits, TimeSpan? lifetime = null) =>
        NewGrant(taskId: task, lifetime: lifetime) with { Capabilities = capabilities, TaskLimits = limits };

    private async Task<RecordGrantResult> RecordLimitedAsync(string task, IReadOnlyList<string> capabilities, TaskLimitCheck? limits)
    {
        var grant = LimitedGrant(task, capabilities, limits);
        return await Store.RecordAsync(grant, Issued(grant), Ct);
    }
}
