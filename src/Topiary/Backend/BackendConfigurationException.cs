namespace Topiary.Backend;

/// <summary>An environment variable that configures the backend has a value Topiary does not know.</summary>
public sealed class BackendConfigurationException(string variable, string message) : Exception(message)
{
    /// <summary>The environment variable at fault, for example <c>TOPIARY_ONEDNN</c>.</summary>
    public string Variable { get; } = variable;
}
