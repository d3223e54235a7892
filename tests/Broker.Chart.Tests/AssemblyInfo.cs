// Kubernetes runs the broker on Linux, and these tests reproduce what the kubelet and git-sync do there (symbolic
// links, rename(2), file modes and owners, setpriv, /proc).
[assembly: System.Runtime.Versioning.SupportedOSPlatform("linux")]
