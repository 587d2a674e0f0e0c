using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Topiary.IO;

namespace Topiary.Backend;

/// <summary>
/// Keeps the self-check's verdict per machine, so that later processes pay nothing for it. A verdict is looked up
/// by everything it may depend on (<see cref="Key"/>): the check's own version and the Topiary build, TorchSharp
/// and libtorch versions, the operating system and architecture, the CPU (<see cref="MachineIdentity"/>: vendor,
/// family, model, stepping, microcode, flags) and the backend's environment variables. Any change of one of them
/// misses and re-checks, so a verdict is never stale. One file per key, <c>self-check-HASH.json</c>, written
/// atomically; a file that cannot be read or does not hold exactly the key is ignored and rewritten.
/// </summary>
public sealed class SelfCheckCache(string directory)
{
    /// <summary>Bumped whenever the check's cases or tolerance change, so that old verdicts miss.</summary>
    public const int CheckVersion = 2;

    /// <summary>Everything a verdict depends on.</summary>
    public sealed record Key(int Check, string Topiary, string TorchSharp, string LibTorch, string Os, string Architecture, string Cpu, string Settings)
    {
        /// <summary>The key of this process: this build, these libraries, this CPU and these <paramref name="overrides"/>; null where the CPU cannot be identified.</summary>
        public static Key? ForThisProcess(BackendOverrides overrides)
        {
            var cpu = MachineIdentity.Current.Signature;
            if (cpu is null) return null;
            var topiary = typeof(SelfCheckCache).Assembly;
            return new Key(CheckVersion,
                $"{ToolInfo.Version} {topiary.ManifestModule.ModuleVersionId}",
                typeof(global::TorchSharp.torch).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "unknown",
                global::TorchSharp.torch.__version__,
                System.Runtime.InteropServices.RuntimeInformation.OSDescription,
                System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString(),
                cpu,
                overrides.Describe());
        }

        /// <summary>The file name of this key's verdict: <c>self-check-</c> and 16 hex digits of the key's SHA-256.</summary>
        public string FileName()
        {
            var canonical = JsonSerializer.Serialize(this, Json);
            return $"self-check-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)))[..16]}.json";
        }
    }

    private sealed record Entry(Key Key, SelfCheckVerdict Verdict, DateTimeOffset CheckedAt);

    private static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.KebabCaseLower) },
    };

    /// <summary>The folder that holds the verdicts.</summary>
    public string Directory { get; } = directory;

    /// <summary>The file that holds (or would hold) the verdict for <paramref name="key"/>.</summary>
    public string PathOf(Key key) => Path.Combine(Directory, key.FileName());

    /// <summary>The verdict kept for <paramref name="key"/>, or null when there is none or it cannot be read.</summary>
    public SelfCheckVerdict? TryRead(Key key)
    {
        try
        {
            var path = PathOf(key);
            if (!File.Exists(path)) return null;
            var entry = JsonSerializer.Deserialize<Entry>(File.ReadAllText(path), Json);
            if (entry is null || entry.Key != key || entry.Verdict is null) return null;
            return entry.Verdict.Outcome is SelfCheckOutcome.Passed or SelfCheckOutcome.OneDnnDisabled ? entry.Verdict : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
        {
            return null;
        }
    }

    /// <summary>Keeps <paramref name="verdict"/> for <paramref name="key"/>; false (and nothing written) when the folder is not writable.</summary>
    public bool TryWrite(Key key, SelfCheckVerdict verdict)
    {
        try
        {
            AtomicFile.WriteAllText(PathOf(key), JsonSerializer.Serialize(new Entry(key, verdict, DateTimeOffset.UtcNow), Json) + "\n");
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }
}
