using System.Reflection;
using System.Text.RegularExpressions;
using Broker.Policy;
using Broker.Tokens;
using Broker.Trust;
using Microsoft.Extensions.Options;

namespace Broker.Hosting;

/// <summary>
/// Finds every configuration problem that would stop the broker, before it starts, so an operator reads them all in
/// one message instead of fixing them one exception (and one stack trace) at a time.
/// </summary>
/// <remarks>
/// What it checks: every broker options type that has a validator (bound and validated one by one, so a value that
/// does not even convert is reported alongside the rest), then whatever else <c>ValidateOnStart</c> registered, then
/// the policy files themselves (file:line). Key files are loaded by their validator. Messages come from validators
/// and the policy loader only: they name settings and files, never a secret.
/// </remarks>
internal static partial class StartupCheck
{
    /// <summary>The process exit code for a configuration the broker cannot start with.</summary>
    public const int ExitCode = 2;

    /// <summary>The file settings of a Kestrel certificate (PEM or PFX, and a PEM key).</summary>
    private static readonly string[] CertificateFiles = ["Path", "KeyPath"];

    /// <summary>The broker's options types that have validators, read from the service collection before it is built.</summary>
    public static IReadOnlyList<Type> ValidatedOptionsTypes(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        return
        [
            .. services
                .Select(d => d.ServiceType)
                .Where(t => t.IsGenericType && t.GetGenericTypeDefinition() == typeof(IValidateOptions<>))
                .Select(t => t.GetGenericArguments()[0])
                .Where(t => t.Assembly == typeof(StartupCheck).Assembly)
                .Distinct(),
        ];
    }

    /// <summary>Every problem found, in a stable order, without repeats; empty when the broker can start.</summary>
    public static IReadOnlyList<string> FindProblems(IServiceProvider services, IEnumerable<Type> optionsTypes)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(optionsTypes);
        var problems = new List<string>();
        var invalid = new HashSet<Type>();
        foreach (var type in optionsTypes)
        {
            try
            {
                var options = services.GetRequiredService(typeof(IOptions<>).MakeGenericType(type));
                _ = options.GetType().GetProperty(nameof(IOptions<object>.Value))!.GetValue(options);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                invalid.Add(type);
                Collect(ex.InnerException, problems);
            }
        }

        try
        {
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (Exception ex) when (ex is OptionsValidationException or AggregateException or InvalidOperationException)
        {
            Collect(ex, problems);
        }

        // The policy files, when their own settings are usable (the provider would refuse to start on them anyway).
        // The other settings they depend on are read unvalidated, so a bad issuer does not hide a bad policy.
        if (!invalid.Contains(typeof(PolicyOptions)))
        {
            try
            {
                var policy = services.GetRequiredService<IOptions<PolicyOptions>>().Value;
                var loadOptions = BrokerServiceCollectionExtensions.PolicyLoadOptionsFor(
                    Unvalidated<BrokerOptions>(services), policy, Unvalidated<SpiffeAgentOptions>(services), Unvalidated<Broker.AuthZen.AuthZenOptions>(services));
                var result = PolicyLoader.Load(policy.Path!, loadOptions);
                problems.AddRange(result.Errors.Select(e => e.Line == 0
                    ? $"Broker:Policy:Path: '{e.File}': {e.Message}."
                    : $"Broker:Policy: {e}"));
            }
            catch (InvalidOperationException)
            {
                // A setting the policy depends on does not convert: already reported above.
            }
        }

        // TLS outside --dev: Kestrel's certificate files, which Kestrel itself reports only as it binds.
        var kestrel = services.GetRequiredService<IConfiguration>().GetSection("Kestrel");
        foreach (var certificate in kestrel.GetSection("Endpoints").GetChildren().Select(e => e.GetSection("Certificate")).Append(kestrel.GetSection("Certificates:Default")))
        {
            foreach (var file in CertificateFiles.Select(certificate.GetSection).Where(f => !string.IsNullOrWhiteSpace(f.Value)))
            {
                if (!File.Exists(file.Value))
                {
                    problems.Add($"{file.Path}: '{file.Value}' does not exist.");
                }
            }
        }

        // A Redis key ring this process cannot read (another certificate): only once everything it depends on is usable.
        if (problems.Count == 0 && services.GetService<Keys.KeyEncryptionCheck>() is { } keyEncryption)
        {
            problems.AddRange(keyEncryption.FindProblems());
        }

        return [.. problems.Distinct(StringComparer.Ordinal)];
    }

    /// <summary>Options as configured, without their validators (which ran above and reported what they found).</summary>
    private static T Unvalidated<T>(IServiceProvider services)
        where T : class, new()
    {
        var options = new T();
        foreach (var setup in services.GetServices<IConfigureOptions<T>>())
        {
            if (setup is IConfigureNamedOptions<T> named)
            {
                named.Configure(Options.DefaultName, options);
            }
            else
            {
                setup.Configure(options);
            }
        }

        foreach (var post in services.GetServices<IPostConfigureOptions<T>>())
        {
            post.PostConfigure(Options.DefaultName, options);
        }

        return options;
    }

    /// <summary>Writes the one message an operator reads: what is wrong, every item, no stack trace.</summary>
    public static void Report(TextWriter writer, IReadOnlyCollection<string> problems)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(problems);
        writer.WriteLine(problems.Count == 1 ? "The broker cannot start: 1 problem." : $"The broker cannot start: {problems.Count} problems.");
        foreach (var problem in problems)
        {
            writer.WriteLine($"  - {problem}");
        }
    }

    private static void Collect(Exception exception, List<string> problems)
    {
        switch (exception)
        {
            case OptionsValidationException validation:
                problems.AddRange(validation.Failures);
                break;
            case AggregateException aggregate:
                foreach (var inner in aggregate.InnerExceptions)
                {
                    Collect(inner, problems);
                }

                break;
            case TargetInvocationException { InnerException: { } inner }:
                Collect(inner, problems);
                break;
            case InvalidOperationException when BindingFailure().Match(exception.Message) is { Success: true } binding:
                // Name the setting, not its value: a value in the wrong place may be a secret.
                problems.Add($"{binding.Groups["path"].Value}: the value is not a valid {binding.Groups["type"].Value}.");
                break;
            default:
                problems.Add(exception.Message);
                break;
        }
    }

    [GeneratedRegex("^Failed to convert configuration value (?:'.*' )?at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BindingFailure();
}
