using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Broker.Policy.Loading;

/// <summary>
/// Typed access to a YAML node tree that reports every problem with file, line and column.
/// YamlDotNet's deserializer drops node positions, so policy files are read from the
/// representation model through this small reader instead.
/// </summary>
internal sealed class YamlPolicyReader(string file, List<PolicyError> errors)
{
    public string File { get; } = file;

    public void Error(YamlNode node, string message) =>
        Error((int)node.Start.Line, (int)node.Start.Column, message);

    public void Error(int line, int column, string message) =>
        errors.Add(new PolicyError(File, line, column, message));

    public YamlMappingNode? AsMapping(YamlNode node, string what)
    {
        if (node is YamlMappingNode mapping)
        {
            return mapping;
        }

        Error(node, $"{what} must be a mapping");
        return null;
    }

    /// <summary>Reports keys that are not in <paramref name="allowed"/>: a typo must not silently widen or drop a rule.</summary>
    public void RequireKnownKeys(YamlMappingNode mapping, string what, params string[] allowed)
    {
        foreach (var key in mapping.Children.Keys)
        {
            var name = (key as YamlScalarNode)?.Value;
            if (name is null || !allowed.Contains(name, StringComparer.Ordinal))
            {
                Error(key, $"unknown key '{name}' in {what}; expected one of: {string.Join(", ", allowed)}");
            }
        }
    }

    public static YamlNode? Get(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public string? Scalar(YamlMappingNode mapping, string key, string what, bool required = false)
    {
        var node = Get(mapping, key);
        if (node is null)
        {
            if (required)
            {
                Error(mapping, $"{what} requires '{key}'");
            }

            return null;
        }

        if (node is not YamlScalarNode { Value: { Length: > 0 } value })
        {
            Error(node, $"'{key}' in {what} must be a non-empty string");
            return null;
        }

        return value;
    }

    public List<string>? ScalarList(YamlMappingNode mapping, string key, string what, bool required = false)
    {
        var node = Get(mapping, key);
        if (node is null)
        {
            if (required)
            {
                Error(mapping, $"{what} requires '{key}'");
            }

            return null;
        }

        if (node is YamlScalarNode { Value: { Length: > 0 } single })
        {
            return [single];
        }

        if (node is not YamlSequenceNode sequence)
        {
            Error(node, $"'{key}' in {what} must be a list of strings");
            return null;
        }

        var values = new List<string>(sequence.Children.Count);
        foreach (var item in sequence.Children)
        {
            if (item is YamlScalarNode { Value: { Length: > 0 } value })
            {
                values.Add(value);
            }
            else
            {
                Error(item, $"'{key}' in {what} must contain only non-empty strings");
            }
        }

        return values;
    }

    public IEnumerable<YamlNode> Sequence(YamlMappingNode mapping, string key, string what)
    {
        var node = Get(mapping, key);
        if (node is null)
        {
            return [];
        }

        if (node is YamlSequenceNode sequence)
        {
            return sequence.Children;
        }

        Error(node, $"'{key}' in {what} must be a list");
        return [];
    }

    /// <summary>Durations are written <c>90s</c>, <c>5m</c> or <c>1h</c>.</summary>
    public TimeSpan? Duration(YamlMappingNode mapping, string key, string what)
    {
        var text = Scalar(mapping, key, what);
        if (text is null)
        {
            return null;
        }

        var unit = text[^1];
        if (text.Length < 2
            || !int.TryParse(text.AsSpan(0, text.Length - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var amount)
            || amount <= 0
            || unit is not ('s' or 'm' or 'h'))
        {
            Error(Get(mapping, key)!, $"'{key}' in {what} must be a positive duration such as 90s, 5m or 1h");
            return null;
        }

        return unit switch
        {
            's' => TimeSpan.FromSeconds(amount),
            'm' => TimeSpan.FromMinutes(amount),
            _ => TimeSpan.FromHours(amount),
        };
    }

    public int? Integer(YamlMappingNode mapping, string key, string what, int min, int max)
    {
        var text = Scalar(mapping, key, what);
        if (text is null)
        {
            return null;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            Error(Get(mapping, key)!, $"'{key}' in {what} must be a whole number from {min} to {max}");
            return null;
        }

        return value;
    }

    public bool? Boolean(YamlMappingNode mapping, string key, string what)
    {
        var text = Scalar(mapping, key, what);
        switch (text)
        {
            case null:
                return null;
            case "true":
                return true;
            case "false":
                return false;
            default:
                Error(Get(mapping, key)!, $"'{key}' in {what} must be true or false");
                return null;
        }
    }
}
