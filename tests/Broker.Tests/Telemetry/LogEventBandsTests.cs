using System.Reflection;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Broker.Tests.Telemetry;

/// <summary>
/// EventIds and EventNames are what operators' alerts match on (docs/operations.md, "Log event ids"): these tests keep
/// them unique, each inside its folder's band, and the documented table equal to <see cref="LogEventBands.All"/>.
/// </summary>
public sealed partial class LogEventBandsTests
{
    // Every assembly under src/ that logs; EveryLoggerMessageInSource_IsFound fails when one is missing here.
    private static readonly Assembly[] Assemblies =
    [
        typeof(Broker.Exchange.TokenExchangeService).Assembly,
        typeof(Broker.Spiffe.SpiffeId).Assembly,
        typeof(Broker.Client.BrokerClient).Assembly,
        typeof(Broker.Validation.Revocation.RevokedGrantSet).Assembly,
        typeof(Broker.Validation.Mcp.RequiresCapabilityAttribute).Assembly,
        typeof(Broker.Jose.CompactJws).Assembly,
        typeof(Broker.Policy.PolicySet).Assembly,
    ];

    private static readonly LogMessage[] Messages = [.. Assemblies.SelectMany(MessagesOf)];

    [Fact]
    public void EveryLoggerMessageInSource_IsFound()
    {
        // Arrange: the attribute as written in every C# file under src/ (generated code is under obj/, skipped).
        var src = Path.Combine(Repository.Root, "src");
        var written = Directory.EnumerateFiles(src, "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Sum(f => LoggerMessageAttribute().Count(File.ReadAllText(f)));

        // Act
        var found = Messages.Length;

        // Assert
        Assert.True(written > 100, $"only {written} [LoggerMessage] attributes found under {src}");
        Assert.Equal(written, found);
    }

    [Fact]
    public void EventIds_AreUnique()
    {
        var duplicates = Messages.GroupBy(m => m.EventId).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}");

        Assert.Empty(duplicates);
    }

    [Fact]
    public void EventNames_AreSet_AndUnique()
    {
        Assert.All(Messages, m => Assert.False(string.IsNullOrEmpty(m.EventName), $"{m.Method} has no EventName"));
        var duplicates = Messages.GroupBy(m => m.EventName).Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(m => m.Method))}");

        Assert.Empty(duplicates);
    }

    [Fact]
    public void EveryEventId_LiesInTheBandOfItsFolder()
    {
        var misplaced = new List<string>();
        foreach (var message in Messages)
        {
            // The most specific band wins, so a subfolder could be given a band of its own.
            var band = LogEventBands.All
                .Where(b => b.Covers(message.Assembly, message.Namespace))
                .MaxBy(b => b.Namespace.Length);
            if (band is null)
            {
                misplaced.Add($"{message.Method} ({message.EventId}): no band for {message.Assembly} {message.Namespace}");
            }
            else if (!band.Contains(message.EventId))
            {
                misplaced.Add($"{message.Method} ({message.EventId}): outside {band.Namespace} {band.First}-{band.Last}");
            }
        }

        Assert.Empty(misplaced);
    }

    [Fact]
    public void Bands_DoNotOverlap_AndAreWellFormed()
    {
        var bands = LogEventBands.All.OrderBy(b => b.First).ToArray();

        Assert.All(bands, b => Assert.True(b.First > 0 && b.First <= b.Last, $"{b.Namespace}: {b.First}-{b.Last}"));
        Assert.Equal(bands.Length, bands.Select(b => (b.Assembly, b.Namespace)).Distinct().Count());
        for (var i = 1; i < bands.Length; i++)
        {
            Assert.True(bands[i].First > bands[i - 1].Last, $"{bands[i].Namespace} overlaps {bands[i - 1].Namespace}");
        }
    }

    [Fact]
    public void DocumentedTable_IsTheCodeTable()
    {
        // Arrange
        var operations = File.ReadAllText(Path.Combine(Repository.Root, "docs", "operations.md"));
        var section = operations[operations.IndexOf("## Log event ids", StringComparison.Ordinal)..];
        section = section[..section.IndexOf("\n## ", 3, StringComparison.Ordinal)];

        // Act
        var documented = DocumentedBand().Matches(section)
            .Select(m => new LogEventBand(
                m.Groups["assembly"].Value,
                m.Groups["namespace"].Value,
                int.Parse(m.Groups["first"].Value, System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(m.Groups["last"].Value, System.Globalization.CultureInfo.InvariantCulture)))
            .ToArray();

        // Assert: same rows, same order.
        Assert.Equal(LogEventBands.All, documented);
    }

    private static IEnumerable<LogMessage> MessagesOf(Assembly assembly) =>
        from type in assembly.GetTypes()
        from method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly)
        let attribute = method.GetCustomAttribute<LoggerMessageAttribute>()
        where attribute is not null
        select new LogMessage(
            assembly.GetName().Name!,
            type.Namespace ?? "",
            $"{type.FullName}.{method.Name}",
            attribute.EventId,
            attribute.EventName ?? method.Name);

    [GeneratedRegex(@"\[LoggerMessage\(")]
    private static partial Regex LoggerMessageAttribute();

    [GeneratedRegex(@"^\| `(?<assembly>[\w.]+)` \| `(?<namespace>[\w.]+)` \| (?<first>\d+)–(?<last>\d+) \|", RegexOptions.Multiline)]
    private static partial Regex DocumentedBand();

    private sealed record LogMessage(string Assembly, string Namespace, string Method, int EventId, string EventName);
}
