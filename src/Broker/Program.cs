using System.Security.Cryptography;
using Broker.Dev;
using Broker.Hosting;
using Broker.Tokens;
using Microsoft.Extensions.Options;

// Composition root only: configuration, services, endpoints.
var dev = DevMode.IsRequested(args);

// Configuration (appsettings.json) is read from the application's directory, not the working directory: a broker
// started from anywhere gets the same settings, including its log levels.
var builder = WebApplication.CreateBuilder(new WebApplicationOptions
{
    Args = DevMode.WithoutFlag(args),
    ContentRootPath = AppContext.BaseDirectory,
});
var problems = dev ? DevMode.Configure(builder) : [];

builder.Services.AddBroker(builder.Configuration).AddTelemetryExport();
var validated = StartupCheck.ValidatedOptionsTypes(builder.Services);

var app = builder.Build();

// Every configuration problem at once, as one readable message, before anything starts.
problems = [.. problems, .. StartupCheck.FindProblems(app.Services, validated)];
if (problems.Count > 0)
{
    StartupCheck.Report(Console.Error, problems);
    return StartupCheck.ExitCode;
}

app.UseBroker();
app.MapBroker();
if (dev)
{
    DevMode.Announce(app.Logger, app.Services.GetRequiredService<IOptions<BrokerOptions>>().Value.Issuer!, app.Configuration["Broker:Policy:Path"]!, app.Services.GetRequiredService<DevIdentityIssuer>());
}

try
{
    await app.StartAsync();
}
catch (Exception ex) when (ex is IOException or InvalidOperationException or CryptographicException)
{
    // Kestrel could not listen (an address in use, a certificate it cannot use): the host logged the details.
    StartupCheck.Report(Console.Error, [ex.Message]);
    return 1;
}

await app.WaitForShutdownAsync();
await app.DisposeAsync();
return 0;
