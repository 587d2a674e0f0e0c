using System.Runtime.CompilerServices;

namespace Topiary.Tests.Support;

/// <summary>The catalogue's model files load by name in every test, whichever runs first (as in the command line).</summary>
internal static class CatalogRegistration
{
#pragma warning disable CA2255 // a test assembly's set-up, the documented use of a module initializer
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Register() => Topiary.Experiments.CatalogArchitectures.Register();
}
