using Broker.Authentication;
using Microsoft.AspNetCore.Http;

namespace Broker.Tests.Authentication;

public sealed class BearerCredentialTests
{
    private static BearerCredential.Status Read(string?[] headers, out string? token, int maxLength = 64)
    {
        var context = new DefaultHttpContext();
        if (headers.Length > 0)
        {
            context.Request.Headers.Authorization = new Microsoft.Extensions.Primitives.StringValues(headers);
        }

        return BearerCredential.Read(context.Request, maxLength, out token);
    }

    [Theory]
    [InlineData("Bearer abc.def-ghi_jkl", "abc.def-ghi_jkl")]
    [InlineData("bearer abc", "abc")]                 // the scheme is case-insensitive (RFC 9110 §11.1)
    [InlineData("Bearer   abc  ", "abc")]
    [InlineData("Bearer ab+/c==", "ab+/c==")]
    public void Read_WellFormed_IsPresent(string header, string expected)
    {
        Assert.Equal(BearerCredential.Status.Present, Read([header], out var token));
        Assert.Equal(expected, token);
    }

    [Theory]
    [InlineData("Basic dXNlcjpwYXNz")]
    [InlineData("DPoP abc")]
    [InlineData("Bearerabc")]
    public void Read_NoneOrAnotherScheme_IsNone(string header)
    {
        Assert.Equal(BearerCredential.Status.None, Read([header], out var token));
        Assert.Null(token);
        Assert.Equal(BearerCredential.Status.None, Read([], out _));
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("Bearer ")]
    [InlineData("Bearer a b")]
    [InlineData("Bearer a=b")]
    [InlineData("Bearer a\"b")]
    [InlineData("Bearer a,b")]
    public void Read_MalformedBearer_IsMalformed(string header)
    {
        Assert.Equal(BearerCredential.Status.Malformed, Read([header], out var token));
        Assert.Null(token);
    }

    [Fact]
    public void Read_TooLongOrTwoHeaders_IsMalformed()
    {
        Assert.Equal(BearerCredential.Status.Malformed, Read(["Bearer " + new string('a', 65)], out _));
        Assert.Equal(BearerCredential.Status.Present, Read(["Bearer " + new string('a', 64)], out _));
        Assert.Equal(BearerCredential.Status.Malformed, Read(["Bearer abc", "Bearer def"], out _));
    }
}
