using System.Collections;
using System.Globalization;
using System.Reflection;
using Broker.Audit;
using Broker.Authentication;
using Broker.Exchange;
using Broker.Policy;
using Broker.RateLimiting;
using Broker.Trust;
using Broker.Subjects;
using Broker.Tokens;
using Microsoft.Extensions.Configuration;

namespace Broker.IntegrationTests.Infrastructure;

/// <summary>
/// Typed settings for a test host: <c>settings.Configure&lt;RedisOptions&gt;(o =&gt; o.KeyPrefix = prefix)</c> instead of
/// <c>settings["Broker:Redis:KeyPrefix"] = prefix</c>. The delegate runs on the options as the settings bind them so
/// far, and every member it changes is written back as the configuration key the broker binds it from, formatted as the
/// binder reads it. It stays configuration (not an <c>IPostConfigureOptions</c>), so what the broker decides from
/// configuration while composing itself (a Redis store or the in-memory one) sees it too. Tests whose subject is the
/// raw configuration (bad values, key names) keep writing strings.
/// </summary>
public static class BrokerSettings
{
    /// <summary>
    /// The section each options class is bound from, for the classes that do not name it in a <c>SectionName</c>
    /// constant (the modules bind these from literal section names).
    /// </summary>
    private static readonly Dictionary<Type, string> Sections = new()
    {
        [typeof(BrokerOptions)] = "Broker",
        [typeof(PolicyOptions)] = "Broker:Policy",
        [typeof(AdminOptions)] = "Broker:Admin",
        [typeof(SpiffeAgentOptions)] = "Broker:Spiffe",
        [typeof(RateLimitOptions)] = "Broker:RateLimits",
        [typeof(SubjectsOptions)] = "Broker:Subjects",
        [typeof(ExchangeOptions)] = "Broker:Exchange",
        [typeof(AuditOptions)] = "Broker:Audit",
    };

    /// <summary>Changes <typeparamref name="TOptions"/> in <paramref name="settings"/> through <paramref name="configure"/>.</summary>
    public static Dictionary<string, string?> Configure<TOptions>(this Dictionary<string, string?> settings, Action<TOptions> configure)
        where TOptions : class, new()
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(configure);
        var section = SectionOf(typeof(TOptions));
        var bound = new ConfigurationBuilder().AddInMemoryCollection(settings).Build().GetSection(section);
        var before = bound.Get<TOptions>() ?? new TOptions();
        var after = bound.Get<TOptions>() ?? new TOptions();
        configure(after);

        var old = Flatten(before, section);
        var now = Flatten(after, section);
        foreach (var member in now.Keys.Concat(old.Keys).Select(k => MemberOf(k, section)).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var prefix = section + ":" + member;
            bool InMember(string key) =>
                key.Equals(prefix, StringComparison.OrdinalIgnoreCase) || key.StartsWith(prefix + ":", StringComparison.OrdinalIgnoreCase);
            var oldValues = old.Where(kv => InMember(kv.Key)).OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).ToList();
            var newValues = now.Where(kv => InMember(kv.Key)).OrderBy(kv => kv.Key, StringComparer.OrdinalIgnoreCase).ToList();
            if (oldValues.SequenceEqual(newValues))
            {
                continue;
            }

            // The member changed: it is written whole (a shorter list leaves no stale items behind).
            foreach (var key in settings.Keys.Where(InMember).ToList())
            {
                settings.Remove(key);
            }

            foreach (var (key, value) in newValues)
            {
                settings[key] = value;
            }
        }

        return settings;
    }

    /// <summary>The configuration section <paramref name="type"/> is bound from.</summary>
    public static string SectionOf(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (Sections.TryGetValue(type, out var section))
        {
            return section;
        }

        return type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field
            ? (string)field.GetRawConstantValue()!
            : throw new ArgumentException($"{type.Name} has no SectionName and is not in {nameof(BrokerSettings)}' table of sections.", nameof(type));
    }

    private static string MemberOf(string key, string section)
    {
        var rest = key[(section.Length + 1)..];
        var colon = rest.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? rest : rest[..colon];
    }

    /// <summary>The configuration keys and values that bind to <paramref name="value"/>, under <paramref name="prefix"/>.</summary>
    private static Dictionary<string, string?> Flatten(object value, string prefix)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        FlattenInto(result, value, prefix, depth: 0);
        return result;
    }

    private static void FlattenInto(Dictionary<string, string?> result, object? value, string key, int depth)
    {
        if (depth > 6)
        {
            throw new InvalidOperationException($"{key}: options nested deeper than {nameof(BrokerSettings)} follows.");
        }

        switch (value)
        {
            case null:
                result[key] = null;
                return;
            case string text:
                result[key] = text;
                return;
            case bool flag:
                result[key] = flag ? "true" : "false";
                return;
            case TimeSpan span:
                result[key] = span.ToString("c", CultureInfo.InvariantCulture);
                return;
            case DateTimeOffset time:
                result[key] = time.ToString("O", CultureInfo.InvariantCulture);
                return;
            case Enum:
            case Uri:
                result[key] = value.ToString();
                return;
            case IFormattable number when value.GetType().IsPrimitive || value is decimal:
                result[key] = number.ToString(null, CultureInfo.InvariantCulture);
                return;
            case IDictionary dictionary:
                foreach (DictionaryEntry entry in dictionary)
                {
                    FlattenInto(result, entry.Value, key + ":" + entry.Key, depth + 1);
                }

                return;
            case IEnumerable items:
                var index = 0;
                foreach (var item in items)
                {
                    FlattenInto(result, item, key + ":" + index.ToString(CultureInfo.InvariantCulture), depth + 1);
                    index++;
                }

                return;
        }

        // A nested options class (Broker:Keys:Rotation, Broker:Telemetry:Prometheus): its bindable members.
        foreach (var property in value.GetType().GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is null)
            {
                continue;
            }

            // Scalars, collections and the broker's own nested options; nothing else is bound from configuration.
            var type = property.PropertyType;
            if (!IsScalar(type) && !typeof(IEnumerable).IsAssignableFrom(type) && type.Namespace?.StartsWith("Broker", StringComparison.Ordinal) != true)
            {
                continue;
            }

            var member = property.GetValue(value);
            if (property.SetMethod is { IsPublic: true } || (member is not null && !IsScalar(type)))
            {
                FlattenInto(result, member, key + ":" + property.Name, depth + 1);
            }
        }
    }

    private static bool IsScalar(Type type) =>
        type.IsPrimitive || type.IsEnum || type == typeof(string) || type == typeof(decimal) || type == typeof(TimeSpan)
        || type == typeof(DateTimeOffset) || type == typeof(Uri) || Nullable.GetUnderlyingType(type) is not null;
}
