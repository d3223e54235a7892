using Broker.Authentication;
using Broker.Grants.Redis;
using Broker.Keys;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Subjects;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.Configuration;

namespace Broker.Chart.Tests.Infrastructure;

/// <summary>
/// Checks environment variables against the broker's real options classes: each <c>Broker__Section__Key</c> is bound
/// with the configuration binder's <see cref="BinderOptions.ErrorOnUnknownConfiguration"/>, so a misspelt key or a
/// value of the wrong form (a TimeSpan, a bool) fails the way it would be silently ignored (or refused) at start.
/// </summary>
public static class BrokerSettings
{
    /// <summary>The <c>Broker:*</c> sections the chart may set, with the options class each is bound to in the broker.</summary>
    private static readonly Dictionary<string, Type> Sections = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Broker:Policy"] = typeof(PolicyOptions),
        ["Broker:Keys"] = typeof(KeysOptions),
        [RedisOptions.SectionName] = typeof(RedisOptions),
        ["Broker:Spiffe"] = typeof(SpiffeAgentOptions),
        ["Broker:Admin"] = typeof(AdminOptions),
        ["Broker:RateLimits"] = typeof(RateLimitOptions),
        ["Broker:Subjects"] = typeof(SubjectsOptions),
        [Broker.Telemetry.TelemetryOptions.SectionName] = typeof(Broker.Telemetry.TelemetryOptions),
        [Broker.AuthZen.AuthZenOptions.SectionName] = typeof(Broker.AuthZen.AuthZenOptions),
    };

    /// <summary>
    /// Framework settings the chart sets, outside <c>Broker:*</c>: Kestrel's listeners (host settings and
    /// <c>Kestrel:Endpoints</c>, read by Kestrel's configuration loader rather than bound to a class) and the default log level.
    /// </summary>
    private static readonly HashSet<string> Framework = new(StringComparer.Ordinal)
    {
        "ASPNETCORE_HTTP_PORTS",
        "ASPNETCORE_HTTPS_PORTS",
        "Kestrel__Endpoints__Https__Url",
        "Kestrel__Endpoints__Https__Certificate__Path",
        "Kestrel__Endpoints__Https__Certificate__KeyPath",
        "Logging__LogLevel__Default",
    };

    /// <summary>Returns one message per variable that is not a setting of the broker or its host.</summary>
    public static IReadOnlyList<string> Problems(IReadOnlyDictionary<string, string> variables)
    {
        List<string> problems = [];
        var broker = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in variables)
        {
            if (Framework.Contains(name))
            {
                continue;
            }

            if (!name.StartsWith("Broker__", StringComparison.Ordinal))
            {
                problems.Add($"{name}: not a setting of the broker");
                continue;
            }

            broker[name.Replace("__", ":", StringComparison.Ordinal)] = value;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(broker).Build();
        foreach (var (section, type) in Sections)
        {
            Bind(configuration.GetSection(section), type, problems);
        }

        // Whatever is left directly under Broker belongs to BrokerOptions.
        var topLevel = broker.Where(kv => !Sections.Keys.Any(s => kv.Key.StartsWith(s + ":", StringComparison.OrdinalIgnoreCase)));
        Bind(new ConfigurationBuilder().AddInMemoryCollection(topLevel).Build().GetSection("Broker"), typeof(BrokerOptions), problems);
        return problems;
    }

    private static void Bind(IConfigurationSection section, Type type, List<string> problems)
    {
        if (!section.Exists())
        {
            return;
        }

        try
        {
            section.Get(type, o => o.ErrorOnUnknownConfiguration = true);
        }
        catch (InvalidOperationException ex)
        {
            problems.Add($"{section.Path}: {ex.Message}");
        }
    }
}
