using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace Topiary.Backend;

/// <summary>
/// Which CPU this process runs on, as far as the self-check's verdict may depend on it: on Linux, every field of
/// the first processor in <c>/proc/cpuinfo</c> that does not change from core to core or over time (vendor,
/// family, model, stepping, microcode, flags, …). Elsewhere only a description, and no signature: verdicts are then
/// not cached.
/// </summary>
/// <param name="Cpu">The CPU's name (<c>model name</c>), for reports.</param>
/// <param name="Signature">A digest of the CPU's identifying fields, or null where they cannot be read.</param>
public sealed record MachineIdentity(string Cpu, string? Signature)
{
    // Fields that differ between the cores of one CPU or change while it runs.
    private static readonly HashSet<string> Volatile = new(StringComparer.OrdinalIgnoreCase)
    {
        "processor", "cpu MHz", "bogomips", "BogoMIPS", "core id", "apicid", "initial apicid", "physical id", "siblings",
        "cpu cores", "power management",
    };

    private static readonly Lazy<MachineIdentity> ThisMachine = new(Read);

    /// <summary>The CPU of this process (read once).</summary>
    public static MachineIdentity Current => ThisMachine.Value;

    /// <summary>Parses the text of <c>/proc/cpuinfo</c>; the first processor's block counts.</summary>
    internal static MachineIdentity FromCpuInfo(string text)
    {
        var fields = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                if (fields.Count > 0) break;
                continue;
            }
            var colon = line.IndexOf(':');
            if (colon < 0) continue;
            var key = line[..colon].Trim();
            if (!Volatile.Contains(key)) fields[key] = line[(colon + 1)..].Trim();
        }
        if (fields.Count == 0) return Unreadable();
        var name = fields.GetValueOrDefault("model name") ?? fields.GetValueOrDefault("Hardware")
            ?? (fields.TryGetValue("CPU part", out var part) ? $"{fields.GetValueOrDefault("CPU implementer")} part {part}" : null)
            ?? RuntimeInformation.ProcessArchitecture.ToString();
        var canonical = string.Join("\n", fields.Select(f => $"{f.Key}={f.Value}"));
        var digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(canonical)));
        return new MachineIdentity(name, digest);
    }

    private static MachineIdentity Read()
    {
        try
        {
            if (OperatingSystem.IsLinux() && File.Exists("/proc/cpuinfo")) return FromCpuInfo(File.ReadAllText("/proc/cpuinfo"));
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return Unreadable();
    }

    private static MachineIdentity Unreadable() =>
        new(Environment.GetEnvironmentVariable("PROCESSOR_IDENTIFIER") ?? RuntimeInformation.ProcessArchitecture.ToString(), null);
}
