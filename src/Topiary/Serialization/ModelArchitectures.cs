using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// The architectures <see cref="ModelFile.Load"/> can rebuild from a file's header by name: the header stores the
/// name and the architecture's <c>config</c> (the JSON given to <see cref="ModelFile.Save(string, string, nn.Module, Pruning.PruningMasks?, JsonObject?, JsonObject?)"/>),
/// and the registered factory turns that config back into an untrained module whose state the file then fills.
/// The library registers none of its own: the catalogue's models (<c>lenet5</c>, <c>lenet300</c>, <c>transformer-lm</c>,
/// <c>transformer-mt</c>) are registered by <c>Topiary.Experiments</c> (<c>CatalogArchitectures.Register()</c>), a
/// user's by <see cref="Register(string, Func{JsonObject, nn.Module{Tensor, Tensor}})"/>. Safe to use from several threads.
/// </summary>
public static class ModelArchitectures
{
    // A factory as stored: the file's path comes along, so that factories can name it in their errors.
    private static readonly ConcurrentDictionary<string, Func<string, JsonObject, nn.Module<Tensor, Tensor>>> Factories = new();

    // Names the library's own packages registered: a user's architecture cannot take them over by accident.
    private static readonly ConcurrentDictionary<string, bool> BuiltIn = new();

    /// <summary>The registered names, in ordinal order.</summary>
    public static IReadOnlyList<string> Names => Factories.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="name"/> can be rebuilt by <see cref="ModelFile.Load"/>.</summary>
    public static bool IsRegistered(string name) => Factories.ContainsKey(name);

    /// <summary>
    /// Registers (or replaces) the factory of an architecture: given the <c>config</c> saved with the model (an empty
    /// object when none was), it builds the module, untrained, with the names and shapes it had when saved.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or one of the catalogue's architectures.</exception>
    public static void Register(string name, Func<JsonObject, nn.Module<Tensor, Tensor>> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        Register(name, (_, config) => factory(config));
    }

    /// <summary>
    /// As <see cref="Register(string, Func{JsonObject, nn.Module{Tensor, Tensor}})"/>, for a factory that also receives
    /// the file's path, to name it in a <see cref="ModelFileException"/> of its own.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or one of the catalogue's architectures.</exception>
    public static void Register(string name, Func<string, JsonObject, nn.Module<Tensor, Tensor>> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (BuiltIn.ContainsKey(name)) throw new ArgumentException($"'{name}' is a built-in architecture and cannot be replaced", nameof(name));
        Factories[name] = factory;
    }

    /// <summary>Registers one of the catalogue's architectures (Topiary.Experiments), which users cannot replace.</summary>
    internal static void RegisterBuiltIn(string name, Func<string, JsonObject, nn.Module<Tensor, Tensor>> factory)
    {
        BuiltIn[name] = true;
        Factories[name] = factory;
    }

    /// <summary>Builds the architecture a file at <paramref name="path"/> names, from its config.</summary>
    /// <exception cref="ModelFileException">The name is not registered, or its factory fails on the config.</exception>
    internal static nn.Module<Tensor, Tensor> Create(string path, string name, JsonObject config)
    {
        if (!Factories.TryGetValue(name, out var factory))
            throw new ModelFileException(path, $"unknown architecture '{name}': register it first (ModelArchitectures.Register(\"{name}\", config => new YourModel(…)); the catalogue's models with CatalogArchitectures.Register() of Topiary.Experiments), or load the file into a module you build (ModelFile.LoadInto(path, module))");
        try
        {
            return factory(path, config) ?? throw new ModelFileException(path, $"the factory of architecture '{name}' returned no module");
        }
        catch (Exception e) when (e is not ModelFileException and not OutOfMemoryException)
        {
            // A user's factory may throw anything on a config it does not expect; the file is what is wrong.
            throw new ModelFileException(path, $"the factory of architecture '{name}' failed on the file's config: {e.Message.Split('\n')[0]}", e);
        }
    }
}
