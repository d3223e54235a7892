using System.Text.Json;
using Microsoft.IdentityModel.Tokens;

namespace Broker.Subjects;

/// <summary>
/// Turns a JWT payload into scalar claims by path (<c>kubernetes.io/serviceaccount/name</c>), the
/// form policy conditions and subject templates read. Bounded in depth and count: a hostile token
/// cannot make this expensive.
/// </summary>
internal static class ClaimsFlattener
{
    private const int MaxDepth = 4;
    private const int MaxEntries = 256;

    public static IReadOnlyDictionary<string, IReadOnlyList<string>> Flatten(string encodedPayload)
    {
        var claims = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        using var document = JsonDocument.Parse(Base64UrlEncoder.DecodeBytes(encodedPayload));
        if (document.RootElement.ValueKind == JsonValueKind.Object)
        {
            Visit(document.RootElement, null, 0, claims);
        }

        return claims;
    }

    private static void Visit(JsonElement element, string? prefix, int depth, Dictionary<string, IReadOnlyList<string>> claims)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (claims.Count >= MaxEntries)
            {
                return;
            }

            var path = prefix is null ? property.Name : $"{prefix}/{property.Name}";
            switch (property.Value.ValueKind)
            {
                case JsonValueKind.Object when depth + 1 < MaxDepth:
                    Visit(property.Value, path, depth + 1, claims);
                    break;
                case JsonValueKind.Array:
                    var values = new List<string>();
                    foreach (var item in property.Value.EnumerateArray())
                    {
                        if (Scalar(item) is { } value && values.Count < MaxEntries)
                        {
                            values.Add(value);
                        }
                    }

                    claims[path] = values;
                    break;
                default:
                    if (Scalar(property.Value) is { } scalar)
                    {
                        claims[path] = [scalar];
                    }

                    break;
            }
        }
    }

    private static string? Scalar(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetRawText(),
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => null,
    };
}
