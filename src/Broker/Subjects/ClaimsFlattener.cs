using System.Text;
using System.Text.Json;

namespace Broker.Subjects;

/// <summary>
/// Turns a JWT payload into scalar claims by path (<c>kubernetes.io/serviceaccount/name</c>), the
/// form policy conditions and subject templates read. Bounded in depth and count: a hostile token
/// cannot make this expensive.
/// </summary>
/// <remarks>
/// Fed the payload bytes that <see cref="Jose.CompactJws"/> validated (one JSON object, no repeated
/// member, no trailing data, escapes that unescape), so it reads exactly what the gate checked and
/// cannot throw. A path that two members spell alike (<c>"a/b"</c> and <c>"a": {"b"}</c>) is dropped
/// rather than letting one silently win: a condition on it then fails closed.
/// </remarks>
internal static class ClaimsFlattener
{
    private const int MaxDepth = 4;
    private const int MaxEntries = 256;

    // At least the gate's own depth limit, so no payload it passed is too deep here.
    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Flatten(ReadOnlyMemory<byte> payload)
    {
        var claims = new Claims();
        var reader = new Utf8JsonReader(payload.Span, ReaderOptions);
        if (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
        {
            Visit(ref reader, null, 0, claims);
        }

        return claims.Values;
    }

    /// <summary>Reads the members of the object the reader is on, up to and including its end.</summary>
    private static void Visit(ref Utf8JsonReader reader, string? prefix, int depth, Claims claims)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var name = reader.GetString()!;
            reader.Read();
            if (claims.Full)
            {
                reader.Skip();
                continue;
            }

            var path = prefix is null ? name : $"{prefix}/{name}";
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject when depth + 1 < MaxDepth:
                    Visit(ref reader, path, depth + 1, claims);
                    break;
                case JsonTokenType.StartArray:
                    var values = new List<string>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (Scalar(ref reader) is { } value && values.Count < MaxEntries)
                        {
                            values.Add(value);
                        }
                        else
                        {
                            reader.Skip();
                        }
                    }

                    claims.Set(path, values);
                    break;
                default:
                    if (Scalar(ref reader) is { } scalar)
                    {
                        claims.Set(path, [scalar]);
                    }
                    else
                    {
                        reader.Skip();
                    }

                    break;
            }
        }
    }

    private static string? Scalar(ref Utf8JsonReader reader) => reader.TokenType switch
    {
        JsonTokenType.String => reader.GetString(),
        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
        JsonTokenType.True => "true",
        JsonTokenType.False => "false",
        _ => null,
    };

    private sealed class Claims
    {
        private HashSet<string>? _ambiguous;

        public Dictionary<string, IReadOnlyList<string>> Values { get; } = new(StringComparer.Ordinal);

        public bool Full => Values.Count >= MaxEntries;

        public void Set(string path, IReadOnlyList<string> values)
        {
            if (_ambiguous?.Contains(path) == true)
            {
                return;
            }

            if (!Values.TryAdd(path, values))
            {
                Values.Remove(path);
                (_ambiguous ??= new HashSet<string>(StringComparer.Ordinal)).Add(path);
            }
        }
    }
}
