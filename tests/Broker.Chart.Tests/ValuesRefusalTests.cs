using Broker.Chart.Tests.Infrastructure;

namespace Broker.Chart.Tests;

/// <summary>
/// Values the chart must refuse rather than deploy: wrong shapes and types (values.schema.json, validated as Helm
/// validates it), and combinations that cannot work or are not safe (the chart's own checks), each with a message
/// that says what to set.
/// </summary>
public sealed class ValuesRefusalTests(ChartRenderer renderer)
{
    public static TheoryData<string, string> SchemaViolations => new()
    {
        { "replicaCount: two", "replicaCount: Invalid type. Expected: integer, given: string" },
        { "replicas: 3", "(root): Additional property replicas is not allowed" },
        { "tls: {mode: tlsv9}", "tls.mode: tls.mode must be one of the following" },
        { "broker: {issuer: http://broker.example.org}", "broker.issuer: Does not match pattern" },
        { "broker: {issuer: 'https://broker.example.org?tenant=a'}", "broker.issuer: Does not match pattern" },
        { "keys: {files: []}", "keys.files: Array must have at least 1 items" },
        { "keys: {files: [../../etc/passwd]}", "keys.files.0: Does not match pattern" },
        { "livenessProbe: {httpGet: {path: /}}", "livenessProbe: Additional property httpGet is not allowed" },
        { "redis: {keyPrefix: '{broker}:'}", "redis.keyPrefix: Does not match pattern" },
        { "redis: {operationTimeout: 2s}", "redis.operationTimeout: Does not match pattern" },
        { "redis: {waitForReplicas: 17}", "redis.waitForReplicas: Must be less than or equal to 16" },
        { "image: {digest: latest}", "image.digest: Does not match pattern" },
        { "policy: {source: git}", "policy.source: policy.source must be one of the following" },
        { "policy: {files: {'../escape.yaml': 'tenant: a'}}", "policy.files: Property name of \"../escape.yaml\" does not match" },
        { "containerPort: 70000", "containerPort: Must be less than or equal to 65535" },
        { "broker: {globalAdmins: [admin]}", "broker.globalAdmins.0: Does not match pattern" },
        { "networkPolicy: {enabled: yes-please}", "networkPolicy.enabled: Invalid type. Expected: boolean, given: string" },
        { "authZen: {allowedHosts: ['https://pdp.example.org']}", "authZen.allowedHosts.0: Does not match pattern" },
        { "authZen: {allowedHosts: ['*.example.org']}", "authZen.allowedHosts.0: Does not match pattern" },
        { "authZen: {allowedHosts: ['pdp.example.org/access']}", "authZen.allowedHosts.0: Does not match pattern" },
        { "authZen: {allowedHosts: pdp.example.org}", "authZen.allowedHosts: Invalid type. Expected: array, given: string" },
    };

    public static TheoryData<string, string> UnsafeCombinations => new()
    {
        { "broker: {issuer: ''}", "broker.issuer is required" },
        { "keys: {existingSecret: ''}", "keys.existingSecret is required" },
        { "redis: {existingSecret: ''}", "redis.existingSecret is required with more than one replica" },
        { "redis: {existingSecret: ''}\nreplicaCount: 1\nautoscaling: {enabled: true}", "redis.existingSecret is required with more than one replica or with autoscaling" },
        { "policy: {source: gitSync}", "policy.gitSync.repo is required with policy.source=gitSync" },
        { "tls: {mode: secret}", "tls.existingSecret is required with tls.mode=secret" },
        { "tls: {mode: spiffe}", "tls.mode=spiffe needs spiffe.csi.enabled=true" },
        { "spiffe: {requestClientCertificates: true}", "spiffe.requestClientCertificates needs TLS in the pod" },
    };

    [Theory]
    [MemberData(nameof(SchemaViolations))]
    public async Task Render_ValuesTheSchemaForbids_IsRefusedNamingTheValue(string overlay, string expected)
    {
        // Arrange
        using var values = new TempValues(overlay);

        // Act
        var error = await renderer.RefuseAsync(Repository.ValuesFile("required.yaml"), values.Path);

        // Assert
        Assert.Contains("values don't meet the specifications of the schema(s) in the following chart(s):\nbroker:", error, StringComparison.Ordinal);
        Assert.Contains(expected, error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(UnsafeCombinations))]
    public async Task Render_ValuesThatCannotWork_AreRefusedSayingWhatToSet(string overlay, string expected)
    {
        // Arrange
        using var values = new TempValues(overlay);

        // Act
        var error = await renderer.RefuseAsync(Repository.ValuesFile("required.yaml"), values.Path);

        // Assert
        Assert.Contains(expected, error, StringComparison.Ordinal);
        Assert.DoesNotContain("schema", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_WithoutAPolicy_IsRefused()
    {
        // Arrange
        using var values = new TempValues("broker: {issuer: https://broker.example.org}\nkeys: {existingSecret: k}\nredis: {existingSecret: r}\n");

        // Act
        var error = await renderer.RefuseAsync(values.Path);

        // Assert
        Assert.Contains("policy.files or policy.existingConfigMap is required with policy.source=configMap", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_ChartDefaultsAlone_AreRefusedForTheIssuer()
    {
        // Act
        var error = await renderer.RefuseAsync();

        // Assert
        Assert.Contains("execution error at (broker/templates/deployment.yaml:", error, StringComparison.Ordinal);
        Assert.Contains("broker.issuer is required", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Render_ForAClusterOlderThanKubeVersion_IsRefused()
    {
        // Act
        var result = await renderer.RunAsync([Repository.ValuesFile("required.yaml")], "-kube-version", "v1.24.9");

        // Assert
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.9", result.StandardError, StringComparison.Ordinal);
    }
}
