using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Topiary.Models;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// The architectures <see cref="ModelFile.Load"/> can rebuild from a file's header by name: the header stores the
/// name and the architecture's <c>config</c> (the JSON given to <see cref="ModelFile.Save(string, string, nn.Module, Pruning.PruningMasks?, JsonObject?, JsonObject?)"/>),
/// and the registered factory turns that config back into an untrained module whose state the file then fills.
/// Built in: <c>lenet5</c> and <c>lenet300</c> (config <c>{"image_size", "classes"}</c>, taken from the header's own
/// fields in files of image models), <c>transformer-lm</c> and <c>transformer-mt</c> (the sizes and vocabulary that
/// <see cref="LanguageModelFile"/> writes). Safe to use from several threads.
/// </summary>
public static class ModelArchitectures
{
    private static readonly string[] BuiltInNames =
        [.. ModelCatalog.Names, TransformerLanguageModel.ArchitectureName, TransformerTranslationModel.ArchitectureName];

    // A factory as stored: the file's path comes along, so that the built-in ones name it in their errors.
    private delegate nn.Module<Tensor, Tensor> Factory(string path, JsonObject config);

    private static readonly ConcurrentDictionary<string, Factory> Factories = new(BuiltIns());

    /// <summary>The registered names, built-in ones included, in ordinal order.</summary>
    public static IReadOnlyList<string> Names => Factories.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Whether <paramref name="name"/> can be rebuilt by <see cref="ModelFile.Load"/>.</summary>
    public static bool IsRegistered(string name) => Factories.ContainsKey(name);

    /// <summary>
    /// Registers (or replaces) the factory of a user's architecture: given the <c>config</c> saved with the model (an
    /// empty object when none was), it builds the module, untrained, with the names and shapes it had when saved.
    /// </summary>
    /// <exception cref="ArgumentException">The name is empty or one of the built-in architectures.</exception>
    public static void Register(string name, Func<JsonObject, nn.Module<Tensor, Tensor>> factory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(factory);
        if (BuiltInNames.Contains(name)) throw new ArgumentException($"'{name}' is a built-in architecture and cannot be replaced", nameof(name));
        Factories[name] = (_, config) => factory(config);
    }

    /// <summary>Builds the architecture a file at <paramref name="path"/> names, from its config.</summary>
    /// <exception cref="ModelFileException">The name is not registered, or its factory fails on the config.</exception>
    internal static nn.Module<Tensor, Tensor> Create(string path, string name, JsonObject config)
    {
        if (!Factories.TryGetValue(name, out var factory))
            throw new ModelFileException(path, $"unknown architecture '{name}': register it first (ModelArchitectures.Register(\"{name}\", config => new YourModel(…))), or load the file into a module you build (ModelFile.LoadInto(path, module))");
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

    private static IEnumerable<KeyValuePair<string, Factory>> BuiltIns()
    {
        foreach (var name in ModelCatalog.Names)
            yield return KeyValuePair.Create<string, Factory>(name, (path, config) => ImageModel(path, name, config));
        foreach (var name in new[] { TransformerLanguageModel.ArchitectureName, TransformerTranslationModel.ArchitectureName })
            yield return KeyValuePair.Create<string, Factory>(name, (path, config) => LanguageModelFile.Build(path, name, config));
    }

    private static nn.Module<Tensor, Tensor> ImageModel(string path, string name, JsonObject config)
    {
        var imageSize = ReadInt(path, config, "image_size");
        var classes = ReadInt(path, config, "classes");
        // Bounds that keep a damaged header from building a gigantic model before the sizes are compared.
        if (imageSize is < 16 or > 4096 || classes is < 2 or > 100_000) throw new ModelFileException(path, $"implausible image size {imageSize} or class count {classes}");
        return ModelCatalog.Create(name, imageSize, classes);
    }

    private static int ReadInt(string path, JsonObject config, string key)
    {
        try
        {
            return config[key]?.GetValue<int>() ?? throw new ModelFileException(path, $"header field '{key}' is missing");
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException)
        {
            throw new ModelFileException(path, $"header field '{key}' has the wrong type", e);
        }
    }
}
