using System.Globalization;
using System.Text;
using Broker.Exchange;
using Broker.Testing.Bench;
using Broker.Tokens;

namespace Broker.Benchmarks;

/// <summary>
/// <c>load-tokens &lt;dir&gt; [count]</c>: the fixture of the wrk load test. Writes
/// <c>&lt;dir&gt;/policy/</c> (bench policy and the trust domain's bundle file) and
/// <c>&lt;dir&gt;/tokens.txt</c>: <c>count</c> (default 1000) JWT-SVIDs of distinct agents
/// (<c>spiffe://bench.example/agents/a0001</c>...), valid for one hour, one per line; and
/// <c>&lt;dir&gt;/introspector.txt</c>: the JWT-SVID of a resource server of the bench tenant
/// (<see cref="Introspector"/>), valid for one hour, with which bench/load/introspect.lua asks
/// <c>POST /oauth2/introspect</c>.
/// </summary>
internal static class LoadTokens
{
    public const string Command = "load-tokens";

    /// <summary>The resource server that introspects in the load test (a workload of the bench tenant's trust domain).</summary>
    public const string Introspector = "spiffe://bench.example/mcp/files";

    public static int Run(string[] args)
    {
        if (args.Length is < 1 or > 2)
        {
            Console.Error.WriteLine($"usage: Broker.Benchmarks {Command} <dir> [count]");
            return 2;
        }

        var directory = Path.GetFullPath(args[0]);
        var count = args.Length == 2 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1000;
        using var trustDomain = new BenchTrustDomain();
        trustDomain.WritePolicyDirectory(Path.Combine(directory, "policy"));

        var now = DateTimeOffset.UtcNow;
        var tokens = new StringBuilder();
        for (var i = 1; i <= count; i++)
        {
            tokens.Append(trustDomain.MintSvid(BenchTrustDomain.AgentId(i), now, TimeSpan.FromHours(1))).Append('\n');
        }

        File.WriteAllText(Path.Combine(directory, "tokens.txt"), tokens.ToString());
        File.WriteAllText(Path.Combine(directory, "introspector.txt"), trustDomain.MintSvid(Introspector, now, TimeSpan.FromHours(1)) + "\n");
        Console.WriteLine($"Wrote {count} JWT-SVIDs to {Path.Combine(directory, "tokens.txt")}, the introspector's to {Path.Combine(directory, "introspector.txt")} and the policy to {Path.Combine(directory, "policy")}.");
        return 0;
    }

    /// <summary>The form body of one bench exchange (the same fields bench/load/exchange.lua sends).</summary>
    public static string FormBody(string subjectToken) => string.Join('&',
        Field(ExchangeParameters.GrantType, ExchangeParameters.TokenExchangeGrantType),
        Field(ExchangeParameters.SubjectTokenType, CapabilityTokenTypes.Jwt),
        Field(ExchangeParameters.SubjectToken, subjectToken),
        Field(ExchangeParameters.Resource, BenchTrustDomain.Resource),
        Field(ExchangeParameters.Scope, BenchTrustDomain.Scope),
        Field(ExchangeParameters.TaskId, BenchTrustDomain.TaskId),
        Field(ExchangeParameters.Purpose, BenchTrustDomain.Purpose));

    private static string Field(string name, string value) => name + "=" + Uri.EscapeDataString(value);
}
