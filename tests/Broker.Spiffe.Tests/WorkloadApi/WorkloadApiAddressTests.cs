// Broker.Spiffe — SPIFFE for .NET.

using System.Net;
using System.Net.Sockets;
using Broker.Spiffe.WorkloadApi;

namespace Broker.Spiffe.Tests.WorkloadApi;

public sealed class WorkloadApiAddressTests
{
    [Theory]
    [InlineData("unix:///tmp/spire-agent/public/api.sock", "/tmp/spire-agent/public/api.sock")]
    [InlineData("unix:/run/api.sock", "/run/api.sock")]
    [InlineData("unix:///run/with%20space.sock", "/run/with space.sock")]
    public void TryParse_Unix_Valid(string value, string path)
    {
        Assert.True(WorkloadApiAddress.TryParse(value, out var address, out var error), error);
        Assert.True(address.IsUnixSocket);
        Assert.Equal(path, ((UnixDomainSocketEndPoint)address.EndPoint).ToString());
        Assert.Equal(value, address.ToString());
    }

    [Theory]
    [InlineData("tcp://127.0.0.1:8081", "127.0.0.1", 8081)]
    [InlineData("tcp://[::1]:8081", "::1", 8081)]
    public void TryParse_Tcp_Valid(string value, string ip, int port)
    {
        Assert.True(WorkloadApiAddress.TryParse(value, out var address, out var error), error);
        Assert.False(address.IsUnixSocket);
        Assert.Equal(new IPEndPoint(IPAddress.Parse(ip), port), address.EndPoint);
    }

    [Theory]
    [InlineData("")]
    [InlineData("/tmp/api.sock")]
    [InlineData("unix://host/tmp/api.sock")]
    [InlineData("unix:relative.sock")]
    [InlineData("unix:///")]
    [InlineData("unix:///tmp/api.sock?x=1")]
    [InlineData("unix:///tmp/api.sock#frag")]
    [InlineData("UNIX:///tmp/api.sock")]
    [InlineData("tcp://localhost:8081")]
    [InlineData("tcp://127.0.0.1")]
    [InlineData("tcp://127.0.0.1:0")]
    [InlineData("tcp://127.0.0.1:70000")]
    [InlineData("tcp://127.0.0.1:8081/path")]
    [InlineData("tcp://user@127.0.0.1:8081")]
    [InlineData("tcp://127.1:8081")]
    [InlineData("tcp://0x7f.0.0.1:8081")]
    [InlineData("tcp://::1:8081")]
    [InlineData("http://127.0.0.1:8081")]
    [InlineData("npipe:foo")]
    public void TryParse_Invalid_ReturnsError(string value)
    {
        Assert.False(WorkloadApiAddress.TryParse(value, out _, out var error));
        Assert.StartsWith("workloadapi:", error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => WorkloadApiAddress.Parse(value));
    }

    [Fact]
    public void LinearBackoff_StepsCapsAndResets()
    {
        var backoff = new LinearBackoffStrategy { Step = TimeSpan.FromSeconds(1), Max = TimeSpan.FromSeconds(3) }.CreateBackoff();
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.NextDelay());
        Assert.Equal(TimeSpan.FromSeconds(2), backoff.NextDelay());
        Assert.Equal(TimeSpan.FromSeconds(3), backoff.NextDelay());
        Assert.Equal(TimeSpan.FromSeconds(3), backoff.NextDelay());
        backoff.Reset();
        Assert.Equal(TimeSpan.FromSeconds(1), backoff.NextDelay());
    }

    [Fact]
    public void DefaultBackoff_IsOneSecondStepsCappedAtThirty()
    {
        var strategy = new LinearBackoffStrategy();
        Assert.Equal(TimeSpan.FromSeconds(1), strategy.Step);
        Assert.Equal(TimeSpan.FromSeconds(30), strategy.Max);
    }
}
