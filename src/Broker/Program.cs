using Broker.Dev;
using Broker.Hosting;
using Microsoft.Extensions.Options;

// Composition root only: configuration, services, endpoints.
var dev = DevMode.IsRequested(args);
var builder = WebApplication.CreateBuilder(DevMode.WithoutFlag(args));
if (dev)
{
    DevMode.Configure(builder);
}

builder.Services.AddBroker(builder.Configuration);

var app = builder.Build();
app.UseBroker();
app.MapBroker();
if (dev)
{
    DevMode.Announce(app.Logger, app.Services.GetRequiredService<IOptions<BrokerOptions>>().Value.Issuer!, app.Services.GetRequiredService<DevIdentityIssuer>());
}

await app.RunAsync();

/// <summary>The entry point, visible to the test host.</summary>
public partial class Program;
