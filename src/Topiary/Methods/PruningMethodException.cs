namespace Topiary.Methods;

/// <summary>
/// A setting of a pruning method or run is out of range. The message names the setting by its type and property
/// (<c>RelevancePruning.Alpha</c>); a command line maps <see cref="Setting"/> to its own flag.
/// </summary>
public sealed class PruningMethodException(string type, string property, string reason) : ArgumentException($"{type}.{property}: {reason}")
{
    /// <summary>The type that holds the setting, e.g. <c>RelevancePruning</c>.</summary>
    public string Type { get; } = type;

    /// <summary>The property, e.g. <c>Alpha</c>.</summary>
    public string Property { get; } = property;

    /// <summary><see cref="Type"/>.<see cref="Property"/>.</summary>
    public string Setting => $"{Type}.{Property}";

    /// <summary>Why the value was refused.</summary>
    public string Reason { get; } = reason;
}
