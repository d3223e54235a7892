using Microsoft.Extensions.Options;

namespace Broker.Catalog;

/// <summary>
/// The capability catalog (<c>/catalog/v1</c>), bound from <c>Broker:Catalog</c>. Defaults: <see cref="MaxTools"/> 256,
/// <see cref="MaxDescriptionLength"/> 4,096, <see cref="MaxBodyBytes"/> 1 MiB.
/// </summary>
/// <remarks>
/// Bounds on what a publisher sends, which ends up in Redis, in the discovery answers and in agents' prompts (a tool
/// description is model input). Tool names are at most 128 characters and titles 256, fixed (the MCP tool name
/// guidance), and the whole body is bounded before it is parsed.
/// </remarks>
internal sealed class CatalogOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Broker:Catalog";

    /// <summary>Tools in one publication (one resource), 1 to 4,096.</summary>
    public int MaxTools { get; set; } = 256;

    /// <summary>Characters of one tool description, 0 to 65,536.</summary>
    public int MaxDescriptionLength { get; set; } = 4096;

    /// <summary>Bytes of a publish request body, 1 KiB to 16 MiB.</summary>
    public int MaxBodyBytes { get; set; } = 1024 * 1024;
}

/// <summary>Fails the start on catalog bounds out of their ranges.</summary>
internal sealed class CatalogOptionsValidator : IValidateOptions<CatalogOptions>
{
    public ValidateOptionsResult Validate(string? name, CatalogOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        List<string> errors = [];
        if (options.MaxTools is < 1 or > 4096)
        {
            errors.Add($"{CatalogOptions.SectionName}:MaxTools must be between 1 and 4096.");
        }

        if (options.MaxDescriptionLength is < 0 or > 65_536)
        {
            errors.Add($"{CatalogOptions.SectionName}:MaxDescriptionLength must be between 0 and 65536.");
        }

        if (options.MaxBodyBytes is < 1024 or > 16 * 1024 * 1024)
        {
            errors.Add($"{CatalogOptions.SectionName}:MaxBodyBytes must be between 1024 and 16777216.");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
