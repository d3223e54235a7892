namespace Broker.Tests;

public class ProbeTests
{
    [Fact]
    public void Probe() => Assert.True(true);
}
