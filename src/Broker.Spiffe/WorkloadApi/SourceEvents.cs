// Broker.Spiffe — SPIFFE for .NET.

using Microsoft.Extensions.Logging;

namespace Broker.Spiffe.WorkloadApi;

internal static class SourceEvents
{
    /// <summary>Raises an Updated event; a throwing handler is logged and must not stop the watch.</summary>
    public static void Raise(EventHandler? handler, object sender, ILogger logger, string source)
    {
        if (handler is null)
        {
            return;
        }

        foreach (var single in handler.GetInvocationList().Cast<EventHandler>())
        {
            try
            {
                single(sender, EventArgs.Empty);
            }
#pragma warning disable CA1031 // A subscriber's bug must not kill the watch that keeps SVIDs fresh.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                Log.SourceUpdateHandlerFailed(logger, source, ex);
            }
        }
    }
}
