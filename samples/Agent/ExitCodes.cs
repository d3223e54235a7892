// samples/Agent — an agent that gets a capability per task from the broker and calls MCP tools with it.

namespace Agent;

/// <summary>The agent's exit codes.</summary>
internal static class ExitCodes
{
    /// <summary>Every step went as policy said; a refused step-up is an answer, not a failure.</summary>
    public const int Ok = 0;

    /// <summary>A step failed: the broker or the MCP server unreachable, the first exchange refused, a tool failed.</summary>
    public const int Failed = 1;

    /// <summary>Bad command line.</summary>
    public const int Usage = 2;

    /// <summary><c>--watch-revocation</c>: the grant was still honoured when the watch ended.</summary>
    public const int NotCutOff = 3;

    /// <summary>Interrupted (Ctrl+C, SIGTERM): 128 + SIGINT, as shells report it.</summary>
    public const int Cancelled = 130;
}
