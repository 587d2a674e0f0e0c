using System.Collections.Concurrent;
using Topiary.Serialization;

namespace Topiary.Inference;

/// <summary>
/// How a model of a named architecture, loaded from a <c>model.topiary</c>, becomes a <see cref="SequentialNetwork"/>
/// that the exporters and sparse inference run. <c>Topiary.Experiments</c> registers the catalogue's LeNets; register
/// your own architecture's conversion (for an <c>nn.Sequential</c>, <see cref="SequentialNetworks.FromSequential"/>).
/// Safe to use from several threads.
/// </summary>
public static class NetworkConverters
{
    private static readonly ConcurrentDictionary<string, Func<LoadedModel, SequentialNetwork>> Converters = new();

    /// <summary>The architectures with a conversion, in ordinal order.</summary>
    public static IReadOnlyList<string> Names => Converters.Keys.Order(StringComparer.Ordinal).ToList();

    /// <summary>Registers (or replaces) the conversion of <paramref name="architecture"/>'s loaded models (masks already applied).</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public static void Register(string architecture, Func<LoadedModel, SequentialNetwork> convert)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(architecture);
        ArgumentNullException.ThrowIfNull(convert);
        Converters[architecture] = convert;
    }

    /// <summary>The network of <paramref name="loaded"/>, read from <paramref name="path"/>.</summary>
    /// <exception cref="ModelFileException">No conversion is registered for its architecture (a Transformer, say).</exception>
    public static SequentialNetwork Convert(string path, LoadedModel loaded) =>
        Converters.TryGetValue(loaded.Architecture, out var convert) ? convert(loaded)
            : throw new ModelFileException(path, $"holds a {loaded.Architecture} model; only the image models ({string.Join(", ", Names)}) apply here");
}
