namespace Broker.Cli.Api;

/// <summary>What an admin API call came to: the parsed answer with its raw body, or a failure.</summary>
internal abstract record ApiResult<T>
{
    private ApiResult()
    {
    }

    /// <summary>A 2xx answer; <paramref name="Body"/> is the JSON exactly as received, for <c>--json</c>.</summary>
    internal sealed record Ok(T Value, string Body) : ApiResult<T>;

    internal sealed record Failed(ApiFailure Failure) : ApiResult<T>;
}

/// <summary>The closed set of ways a call can fail, each with its documented exit code.</summary>
internal abstract record ApiFailure(string Message)
{
    public abstract int ExitCode { get; }

    /// <summary>A 4xx other than 401/403, or a redirect brokerctl will not follow.</summary>
    internal sealed record Refused(string Message) : ApiFailure(Message)
    {
        public override int ExitCode => ExitCodes.Refused;
    }

    /// <summary>401 or 403.</summary>
    internal sealed record NotAuthorized(string Message) : ApiFailure(Message)
    {
        public override int ExitCode => ExitCodes.AuthenticationFailed;
    }

    /// <summary>No connection, a timeout, a 5xx, or an answer that is not the admin API's.</summary>
    internal sealed record Unavailable(string Message) : ApiFailure(Message)
    {
        public override int ExitCode => ExitCodes.Unavailable;
    }
}
