using System.Buffers;
using System.Text;
using System.Text.Unicode;
using Broker.Errors;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Broker.OAuth;

/// <summary>
/// Reads the body of an OAuth request (<c>/oauth2/token</c>, <c>/oauth2/revoke</c>, <c>/oauth2/introspect</c>):
/// exactly <c>application/x-www-form-urlencoded</c> in UTF-8, within bounds, each parameter at most once. Every
/// refusal is one <see cref="ErrorCatalog"/> entry with a reason code of its own, answered as <c>invalid_request</c>.
/// </summary>
/// <remarks>
/// The framework's form reader decodes with whatever <c>charset</c> the caller names (a UTF-16 body was accepted) and
/// replaces bytes that are not UTF-8 with U+FFFD, so a mangled token could still be compared or hashed. This reader
/// refuses instead: the bytes are checked as UTF-8 before and after percent-decoding.
/// </remarks>
internal static class OAuthFormReader
{
    /// <summary>The one media type OAuth request bodies use (RFC 6749 §3.2, RFC 7009 §2.1, RFC 7662 §2.1).</summary>
    public const string MediaType = "application/x-www-form-urlencoded";

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>Reads the form, or says why the request is refused.</summary>
    public static async ValueTask<(IFormCollection? Form, ErrorDescriptor? Error)> ReadAsync(HttpContext context, OAuthFormLimits limits, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(context);
        ArgumentNullException.ThrowIfNull(limits);
        var request = context.Request;

        // RFC 6749 §3.2: the parameters are in the body. These endpoints have no query component of their own, so
        // a query string can only be a credential in the wrong place: refused, not read (and never logged, see
        // BrokerLogging), so a client that put a token in a URL learns it at once.
        if (request.QueryString.HasValue)
        {
            return (null, ErrorCatalog.QueryNotAllowed);
        }

        if (string.IsNullOrEmpty(request.ContentType))
        {
            return (null, ErrorCatalog.MissingContentType);
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals(MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return (null, ErrorCatalog.NotForm);
        }

        // UTF-8 is the only encoding of this media type (WHATWG URL §5.1); a charset naming another is refused
        // rather than honoured.
        if (contentType.Parameters.FirstOrDefault(p => p.Name.Equals("charset", StringComparison.OrdinalIgnoreCase)) is { } charset
            && !HeaderUtilities.RemoveQuotes(charset.Value).Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return (null, ErrorCatalog.UnsupportedCharset);
        }

        if (request.ContentLength > limits.MaxBytes)
        {
            return (null, ErrorCatalog.FormTooLarge);
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = limits.MaxBytes;
        }

        byte[]? body;
        try
        {
            body = await ReadBodyAsync(request, limits.MaxBytes, cancellationToken);
        }
        catch (BadHttpRequestException ex) when (ex.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, ErrorCatalog.FormTooLarge);
        }
        catch (Exception ex) when (ex is BadHttpRequestException or IOException)
        {
            return (null, ErrorCatalog.FormMalformed);
        }

        return body is null ? (null, ErrorCatalog.FormTooLarge) : Parse(body, limits);
    }

    /// <summary>The whole body, or null when it is longer than <paramref name="maxBytes"/> (chunked bodies have no length up front).</summary>
    private static async ValueTask<byte[]?> ReadBodyAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        var reader = request.BodyReader;
        while (true)
        {
            var read = await reader.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            if (buffer.Length > maxBytes)
            {
                reader.AdvanceTo(buffer.Start, buffer.End);
                return null;
            }

            if (read.IsCompleted)
            {
                var body = buffer.ToArray();
                reader.AdvanceTo(buffer.End);
                return body;
            }

            reader.AdvanceTo(buffer.Start, buffer.End);
        }
    }

    /// <summary>Parses <c>name=value&amp;…</c> (WHATWG URL §5.1), strictly: bad escapes, bad UTF-8 and repeats are refused.</summary>
    private static (IFormCollection? Form, ErrorDescriptor? Error) Parse(byte[] body, OAuthFormLimits limits)
    {
        if (!Utf8.IsValid(body))
        {
            return (null, ErrorCatalog.FormNotUtf8);
        }

        var parameters = new Dictionary<string, StringValues>(StringComparer.Ordinal);
        var count = 0;
        var span = body.AsSpan();
        foreach (var range in span.Split((byte)'&'))
        {
            var pair = span[range];
            if (pair.IsEmpty)
            {
                continue;
            }

            if (++count > OAuthFormLimits.MaxParameters)
            {
                return (null, ErrorCatalog.TooManyParameters);
            }

            var equals = pair.IndexOf((byte)'=');
            var value = string.Empty;
            var error = Decode(equals < 0 ? pair : pair[..equals], out var name);
            error ??= Decode(equals < 0 ? [] : pair[(equals + 1)..], out value);
            if (error is not null)
            {
                return (null, error);
            }

            // Names are short ASCII words; NUL never belongs in any parameter (it is how a UTF-16 body sent without
            // a charset shows up once read as UTF-8).
            if (name.Length is 0 or > OAuthFormLimits.MaxNameLength || name.Contains('\0', StringComparison.Ordinal) || value.Contains('\0', StringComparison.Ordinal))
            {
                return (null, ErrorCatalog.FormMalformed);
            }

            if (parameters.TryGetValue(name, out var existing))
            {
                // RFC 6749 §3.2: request parameters MUST NOT be included more than once, except those whose own
                // specification lets them repeat (RFC 8707 resource, RFC 8693 audience); the endpoint judges those.
                if (!limits.MultiValued.Contains(name))
                {
                    return (null, ErrorCatalog.DuplicateParameter);
                }

                parameters[name] = StringValues.Concat(existing, value);
            }
            else
            {
                parameters[name] = value;
            }
        }

        return (new FormCollection(parameters), null);
    }

    /// <summary>Percent-decodes one name or value ('+' is a space) and reads it as strict UTF-8.</summary>
    private static ErrorDescriptor? Decode(ReadOnlySpan<byte> encoded, out string decoded)
    {
        decoded = string.Empty;
        for (var i = 0; i < encoded.Length; i++)
        {
            // An escape is '%' and two hex digits; anything else is not this media type (WHATWG would keep the
            // '%' as is, which would let two spellings of one value through).
            if (encoded[i] == '%' && (i + 2 >= encoded.Length || !IsHex(encoded[i + 1]) || !IsHex(encoded[i + 2])))
            {
                return ErrorCatalog.FormMalformed;
            }
        }

        // Decoded in place of the copies WebUtility would make (the subject token alone is ~1 KB a request): the escapes
        // are known to be well formed, and a value without escapes or '+' (every token) is read as it is.
        if (encoded.IndexOfAny((byte)'%', (byte)'+') < 0)
        {
            return ReadUtf8(encoded, out decoded);
        }

        var rented = encoded.Length <= 256 ? null : ArrayPool<byte>.Shared.Rent(encoded.Length);
        var buffer = rented is null ? stackalloc byte[256] : rented.AsSpan();
        try
        {
            var length = 0;
            for (var i = 0; i < encoded.Length; i++)
            {
                var b = encoded[i];
                if (b == '%')
                {
                    b = (byte)((HexValue(encoded[i + 1]) << 4) | HexValue(encoded[i + 2]));
                    i += 2;
                }
                else if (b == '+')
                {
                    b = (byte)' ';
                }

                buffer[length++] = b;
            }

            return ReadUtf8(buffer[..length], out decoded);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    private static ErrorDescriptor? ReadUtf8(ReadOnlySpan<byte> bytes, out string decoded)
    {
        try
        {
            decoded = StrictUtf8.GetString(bytes);
            return null;
        }
        catch (DecoderFallbackException)
        {
            decoded = string.Empty;
            return ErrorCatalog.FormNotUtf8;
        }
    }

    private static int HexValue(byte b) => b <= '9' ? b - '0' : (b | 0x20) - 'a' + 10;

    private static bool IsHex(byte b) => char.IsAsciiHexDigit((char)b);
}
