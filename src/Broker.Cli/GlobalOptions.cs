using System.CommandLine;
using Broker.Cli.Api;

namespace Broker.Cli;

/// <summary>
/// The options every command accepts (anywhere on the line), and their resolution into a
/// <see cref="BrokerConnection"/>: option first, then environment variable.
/// </summary>
internal sealed class GlobalOptions
{
    private const int MaxTokenLength = 16 * 1024;

    public Option<string?> Broker { get; } = new("--broker")
    {
        Description = "The broker's URL (default: BROKER_URL)",
        HelpName = "URL",
        Recursive = true,
    };

    public Option<string?> Token { get; } = new("--token")
    {
        Description = "The admin's bearer token (default: BROKER_TOKEN); prefer --token-file, command lines are visible to other users",
        HelpName = "TOKEN",
        Recursive = true,
    };

    public Option<FileInfo?> TokenFile { get; } = new("--token-file")
    {
        Description = "Read the bearer token from this file",
        HelpName = "PATH",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the broker's JSON instead of tables",
        Recursive = true,
    };

    public Option<int> Timeout { get; } = new("--timeout")
    {
        Description = "Seconds to wait for each answer from the broker",
        HelpName = "SECONDS",
        DefaultValueFactory = _ => 30,
        Recursive = true,
    };

    public IEnumerable<Option> All => [Broker, Token, TokenFile, Json, Timeout];

    /// <summary>
    /// Builds a client from the options, or writes a usage error and returns null. Called after the
    /// command checked its own arguments, and before anything is sent.
    /// </summary>
    public AdminApiClient? Connect(ParseResult parseResult, CliEnvironment environment)
    {
        var url = parseResult.GetValue(Broker) ?? environment.GetVariable("BROKER_URL");
        if (string.IsNullOrWhiteSpace(url))
        {
            environment.Usage("no broker URL: pass --broker URL or set BROKER_URL");
            return null;
        }

        if (CheckUrl(url) is { } urlError)
        {
            environment.Usage(urlError);
            return null;
        }

        var timeout = parseResult.GetValue(Timeout);
        if (timeout is < 1 or > 3600)
        {
            environment.Usage("--timeout must be 1-3600 seconds");
            return null;
        }

        if (ReadToken(parseResult, environment) is not { } token)
        {
            return null;
        }

        environment.Secrets.Add(token);
        return new AdminApiClient(new BrokerConnection(new Uri(url), token, TimeSpan.FromSeconds(timeout)));
    }

    private static string? CheckUrl(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            return $"the broker URL '{url}' must be an absolute http:// or https:// URL";
        }

        if (uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
        {
            return "the broker URL must not contain user info, a query or a fragment";
        }

        // The token is a credential: plain http only where it cannot leave the machine (a --dev broker).
        if (uri.Scheme == Uri.UriSchemeHttp && !uri.IsLoopback)
        {
            return $"the broker URL '{url}' must use https (http is accepted on loopback only)";
        }

        return null;
    }

    private string? ReadToken(ParseResult parseResult, CliEnvironment environment)
    {
        var token = parseResult.GetValue(Token);
        var file = parseResult.GetValue(TokenFile);
        if (token is not null && file is not null)
        {
            environment.Usage("pass --token or --token-file, not both");
            return null;
        }

        if (file is not null)
        {
            try
            {
                token = File.ReadAllText(file.FullName).Trim();
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                environment.Usage($"cannot read the token file '{file}': {ex.Message}");
                return null;
            }

            if (token.Length == 0)
            {
                environment.Usage($"the token file '{file}' is empty");
                return null;
            }
        }

        token ??= environment.GetVariable("BROKER_TOKEN")?.Trim();
        if (string.IsNullOrEmpty(token))
        {
            environment.Usage("no token: pass --token-file PATH or --token TOKEN, or set BROKER_TOKEN");
            return null;
        }

        // A JWT is printable ASCII without spaces. Anything else would corrupt the Authorization
        // header; the message does not quote the value, which may be a secret pasted in the wrong place.
        if (token.Length > MaxTokenLength || !token.All(c => c is > ' ' and <= '~'))
        {
            environment.Usage("the token is not a bearer token (expected printable ASCII without spaces, at most 16 KiB)");
            return null;
        }

        return token;
    }
}
