using System.CommandLine;
using Broker.Cli.Commands;

namespace Broker.Cli;

/// <summary>The command tree of <c>brokerctl</c> (docs/admin.md), built per run around its environment.</summary>
internal static class CommandTree
{
    public static RootCommand Create(CliEnvironment environment)
    {
        var globals = new GlobalOptions();
        var root = new RootCommand("brokerctl: administer a Broker (grants, audit trail, catalog, signing keys, policy).");
        foreach (var option in globals.All)
        {
            root.Options.Add(option);
        }

        root.Subcommands.Add(new Command("grants", "Inspect and revoke grants")
        {
            GrantsListCommand.Create(globals, environment),
            GrantsShowCommand.Create(globals, environment),
            GrantsRevokeCommand.Create(globals, environment),
        });
        root.Subcommands.Add(new Command("audit", "Read the audit trail")
        {
            AuditTailCommand.Create(globals, environment),
        });
        root.Subcommands.Add(KeysCommands.Create(globals, environment));
        root.Subcommands.Add(new Command("catalog", "Publish and discover capabilities (docs/catalog.md)")
        {
            CatalogListCommand.Create(globals, environment),
            CatalogShowCommand.Create(globals, environment),
            CatalogPublishCommand.Create(globals, environment),
            CatalogUnpublishCommand.Create(globals, environment),
        });
        root.Subcommands.Add(ReviewCommand.Create(globals, environment));
        root.Subcommands.Add(new Command("policy", "Work with policy files")
        {
            PolicyCheckCommand.Create(globals, environment),
        });
        return root;
    }
}
