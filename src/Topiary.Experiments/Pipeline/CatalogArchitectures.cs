using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Topiary.Inference;
using Topiary.Language;
using Topiary.Models;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// Makes the catalogue's models loadable by name: registers <c>lenet5</c> and <c>lenet300</c> (config
/// <c>{"image_size", "classes"}</c>, taken from the header's own fields in files of image models), <c>transformer-lm</c>
/// and <c>transformer-mt</c> (the sizes and vocabulary <see cref="LanguageModelFile"/> writes) with
/// <see cref="ModelArchitectures"/>, and the LeNets' conversion to a sequential network with <see cref="NetworkConverters"/>.
/// It runs by itself as soon as anything of this assembly is used; call <see cref="Register"/> where a program reads
/// catalogue files before touching it (the command line does at start).
/// </summary>
public static class CatalogArchitectures
{
    private static int registered;

    /// <summary>The catalogue's architectures and converters are registered (once; later calls do nothing).</summary>
    public static void Register()
    {
        if (Interlocked.Exchange(ref registered, 1) == 1) return;
        foreach (var name in ModelCatalog.Names)
        {
            ModelArchitectures.RegisterBuiltIn(name, (path, config) => ImageModel(path, name, config));
            NetworkConverters.Register(name, loaded => CatalogNetworks.FromModel(name, loaded.ImageSize, loaded.Model));
        }
        foreach (var name in new[] { TransformerLanguageModel.ArchitectureName, TransformerTranslationModel.ArchitectureName })
            ModelArchitectures.RegisterBuiltIn(name, (path, config) => LanguageModelFile.Build(path, name, config));
    }

    // A library's module initializer (CA2255) is what makes a catalogue file load by name as soon as this assembly is in
    // use, without a call the user could forget; it only fills two registries.
#pragma warning disable CA2255
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void RegisterOnLoad() => Register();

    /// <summary>
    /// <see cref="ModelFile.Load"/> for what only the catalogue's image models support (Lipschitz analysis, Net-Trim): a
    /// Transformer file is refused by name rather than failing later on its shape.
    /// </summary>
    /// <exception cref="ModelFileException">As <see cref="ModelFile.Load"/>, or the file holds another model.</exception>
    public static LoadedModel LoadImageModel(string path)
    {
        Register();
        var loaded = ModelFile.Load(path);
        if (ModelCatalog.Names.Contains(loaded.Architecture)) return loaded;
        loaded.Model.Dispose();
        throw new ModelFileException(path, $"holds a {loaded.Architecture} model; only the image models ({string.Join(", ", ModelCatalog.Names)}) apply here");
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
