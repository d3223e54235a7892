using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// The log levels the broker sets in code, so that they hold whatever configuration files were (or were not) found.
/// </summary>
/// <remarks>
/// <para>
/// Defaults: <c>Microsoft.AspNetCore</c> and <c>System.Net.Http.HttpClient</c> at Warning. They are put first, so
/// any <c>Logging</c> setting for the same category still wins: an operator can raise them.
/// </para>
/// <para>
/// Pinned: the categories that write request data verbatim — ASP.NET Core hosting's "Request starting/finished"
/// lines (the URL with its query string), the HTTP logging middleware (headers and bodies) and Kestrel's bad-request
/// details (the raw request line) — are held at Warning after every other setting has been applied, for every
/// logging provider. A token a client put in a URL or header therefore never reaches a log, whatever
/// <c>Logging:LogLevel</c> says (Default=Trace included).
/// </para>
/// </remarks>
internal static class BrokerLogging
{
    /// <summary>Categories that print request URLs, headers or bodies as received.</summary>
    public static readonly IReadOnlyList<string> PinnedCategories =
    [
        "Microsoft.AspNetCore.Hosting.Diagnostics",
        "Microsoft.AspNetCore.HttpLogging",
        "Microsoft.AspNetCore.Server.Kestrel.BadRequests",
    ];

    /// <summary>Quiet defaults that configuration may override.</summary>
    public static readonly IReadOnlyList<(string Category, LogLevel Level)> Defaults =
    [
        ("Microsoft.AspNetCore", LogLevel.Warning),
        ("System.Net.Http.HttpClient", LogLevel.Warning),
    ];

    /// <summary>The lowest level a pinned category logs at.</summary>
    public const LogLevel PinnedLevel = LogLevel.Warning;

    public static void Register(IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IConfigureOptions<LoggerFilterOptions>, DefaultLevels>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IPostConfigureOptions<LoggerFilterOptions>, PinnedLevels>());
    }

    /// <summary>True when a filter rule for <paramref name="ruleCategory"/> applies to <paramref name="category"/> (as the framework matches: prefix, one optional '*').</summary>
    internal static bool Applies(string ruleCategory, string category)
    {
        var star = ruleCategory.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return category.StartsWith(ruleCategory, StringComparison.OrdinalIgnoreCase);
        }

        var prefix = ruleCategory[..star];
        var suffix = ruleCategory[(star + 1)..];
        return category.Length >= prefix.Length + suffix.Length
            && category.StartsWith(prefix, StringComparison.OrdinalIgnoreCase)
            && category.EndsWith(suffix, StringComparison.OrdinalIgnoreCase);
    }

    private sealed class DefaultLevels : IConfigureOptions<LoggerFilterOptions>
    {
        public void Configure(LoggerFilterOptions options)
        {
            // Before the rules from configuration: for the same category the later rule wins.
            for (var i = Defaults.Count - 1; i >= 0; i--)
            {
                options.Rules.Insert(0, new LoggerFilterRule(null, Defaults[i].Category, Defaults[i].Level, null));
            }
        }
    }

    private sealed class PinnedLevels : IPostConfigureOptions<LoggerFilterOptions>
    {
        public void PostConfigure(string? name, LoggerFilterOptions options)
        {
            // The framework picks one rule per provider and category: the provider's own rules if it has any, then
            // the longest matching category, then the last one. So: lift every rule that could be picked for a
            // pinned category or one below it (as long as ours, or longer) to the pinned level, then add ours last,
            // once without a provider and once for each provider that has rules of its own.
            var rules = options.Rules;
            for (var i = 0; i < rules.Count; i++)
            {
                var rule = rules[i];
                if (rule.CategoryName is { } category && (rule.LogLevel ?? LogLevel.Trace) < PinnedLevel
                    && PinnedCategories.Any(pinned => category.StartsWith(pinned, StringComparison.OrdinalIgnoreCase)
                        || (category.Length >= pinned.Length && Applies(category, pinned))))
                {
                    rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, PinnedLevel, rule.Filter);
                }
            }

            var providers = rules.Select(r => r.ProviderName).Where(p => p is not null).Distinct(StringComparer.Ordinal).Prepend(null).ToList();
            foreach (var provider in providers)
            {
                foreach (var category in PinnedCategories)
                {
                    rules.Add(new LoggerFilterRule(provider, category, PinnedLevel, null));
                }
            }
        }
    }
}
