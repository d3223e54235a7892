using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Broker.Errors;
using Broker.OAuth;
using Microsoft.AspNetCore.Http;

namespace Broker.Tests.OAuth;

/// <summary>
/// The form reader's percent-decoding, on either side of its in-place buffer (256 bytes on the stack, longer values
/// in a rented array): every value reads as WebUtility reads it, and a refused value is refused at any length.
/// </summary>
public sealed class OAuthFormReaderTests
{
    public static TheoryData<string> Values => new()
    {
        "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln",
        "spiffe://example.org/ns/agents/sa/agent-1",
        "a b+c",
        "caf\u00e9 \u2603 \U0001F600",
        "100% sure & done = yes",
        new string('x', 255) + "/",
        new string('x', 256) + "/",
        string.Concat(Enumerable.Repeat("caf\u00e9/+ %", 200)),
    };

    [Theory]
    [MemberData(nameof(Values))]
    public async Task EscapedValue_ReadsAsWebUtilityDecodesIt(string value)
    {
        // Arrange: spaces as '+' (WebUtility.UrlEncode) and as %20, upper- and lower-case hex.
        var plus = WebUtility.UrlEncode(value);
        var percent = Regex.Replace(Uri.EscapeDataString(value), "%[0-9A-F]{2}", m => m.Value.ToLowerInvariant());

        // Act
        var (form, error) = await ReadAsync($"a={plus}&b={percent}");

        // Assert
        Assert.Null(error);
        Assert.Equal(value, form!["a"].ToString());
        Assert.Equal(value, form["b"].ToString());
    }

    [Theory]
    [InlineData(10)]
    [InlineData(300)]
    public async Task EscapedBytesThatAreNotUtf8_AreRefused_AtAnyLength(int prefix)
    {
        // Act
        var (form, error) = await ReadAsync($"token={new string('a', prefix)}%FF%FE");

        // Assert
        Assert.Null(form);
        Assert.Same(ErrorCatalog.FormNotUtf8, error);
    }

    [Theory]
    [InlineData("%")]
    [InlineData("%4")]
    [InlineData("%G0")]
    [InlineData("abc%2")]
    public async Task BrokenEscape_IsRefused(string value)
    {
        // Act
        var (form, error) = await ReadAsync($"token={new string('a', 300)}{value}");

        // Assert
        Assert.Null(form);
        Assert.Same(ErrorCatalog.FormMalformed, error);
    }

    private static async Task<(IFormCollection? Form, ErrorDescriptor? Error)> ReadAsync(string body)
    {
        var bytes = Encoding.UTF8.GetBytes(body);
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.ContentType = OAuthFormReader.MediaType;
        context.Request.ContentLength = bytes.Length;
        context.Request.Body = new MemoryStream(bytes);
        return await OAuthFormReader.ReadAsync(context, OAuthFormLimits.SingleToken, CancellationToken.None);
    }
}
