using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Broker.Audit;

/// <summary>
/// One time format for the audit trail, whichever offset a caller's clock carried: RFC 3339 in UTC with exactly
/// three fractional digits, so lines sort as text and every consumer parses the same shape.
/// </summary>
internal sealed class AuditTimeConverter : JsonConverter<DateTimeOffset>
{
    public const string Format = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";

    public static string ToText(DateTimeOffset time) => time.UtcDateTime.ToString(Format, CultureInfo.InvariantCulture);

    public override DateTimeOffset Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        reader.GetDateTimeOffset();

    public override void Write(Utf8JsonWriter writer, DateTimeOffset value, JsonSerializerOptions options) =>
        writer.WriteStringValue(ToText(value));
}
