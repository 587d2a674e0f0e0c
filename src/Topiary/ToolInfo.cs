using System.Reflection;

namespace Topiary;

/// <summary>Version information recorded in every result file.</summary>
public static class ToolInfo
{
    /// <summary>The library's version (without build metadata).</summary>
    public static string Version { get; } =
        (typeof(ToolInfo).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];
}
