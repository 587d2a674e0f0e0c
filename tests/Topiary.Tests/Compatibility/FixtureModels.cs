using System.Text.Json.Nodes;
using Topiary.Inference;
using Topiary.Language;
using Topiary.Models;
using Topiary.Tests.Support;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// What the fixtures of <c>Fixtures/v0.1.0</c> hold, frozen here so that the files can be rebuilt into modules and
/// fed the same inputs whatever happens to the rest of the test support: the user's model, the fixed inputs (exact
/// rationals, no random generator or libm involved) and the sparse network. Change nothing here: the files were
/// written from it.
/// </summary>
internal static class FixtureModels
{
    /// <summary>The folder name of the fixtures written by Topiary 0.1.0 (the code of commit af64cd8).</summary>
    public const string Version = "v0.1.0";

    /// <summary>The architecture name the user's model was saved under.</summary>
    public const string UserArchitecture = "fixture-mlp";

    /// <summary>Where the test binaries see the fixtures.</summary>
    public static string File(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", Version, name);

    /// <summary>Where the fixtures live in the source tree (the writer writes there).</summary>
    public static string SourceFolder => Repository.Path("tests", "Topiary.Tests", "Fixtures", Version);

    /// <summary>A user's own <c>nn.Sequential</c>, from no catalogue: linear → BatchNorm (buffers, an int64 count) → ReLU → linear.</summary>
    public static Sequential UserModel(int hidden = 8) => nn.Sequential(
        ("fc1", nn.Linear(6, hidden)), ("bn", nn.BatchNorm1d(hidden)), ("relu", nn.ReLU()), ("fc2", nn.Linear(hidden, 3)));

    /// <summary>The user model's factory, from the config saved with it.</summary>
    public static nn.Module<Tensor, Tensor> UserModelFromConfig(JsonObject config) => UserModel(config["hidden"]!.GetValue<int>());

    /// <summary>The tiny Transformer language model: 12 characters, context 8, width 16, 2 heads, 2 layers.</summary>
    public static TransformerConfig LanguageModelConfig => new()
    {
        VocabularySize = 12, ContextLength = 8, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32,
    };

    /// <summary>Its vocabulary: the unknown character, then a to k.</summary>
    public static string LanguageModelVocabulary => CharacterTokenizer.Unknown + "abcdefghijk";

    /// <summary><paramref name="count"/> values in [-1, 1) that every machine computes the same: ((37 i + offset) mod 101) / 50 - 1.</summary>
    public static float[] Values(int count, int offset = 0) =>
        Enumerable.Range(0, count).Select(i => (float)((37 * i + offset) % 101 / 50.0 - 1.0)).ToArray();

    /// <summary>The fixed input of the user model: 4 rows of 6 features.</summary>
    public static Tensor UserInput() => tensor(Values(4 * 6), [4, 6]);

    /// <summary>The fixed input of the language model: two sequences of 8 token ids.</summary>
    public static Tensor TokenInput() => tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8, 11, 10, 0, 9, 3, 3, 1, 2 }, [2, 8]);

    /// <summary>A batch of the session's synthetic training data: 16 rows of the user model's input and labels i mod 3.</summary>
    public static (Tensor Inputs, Tensor Targets) SessionBatch(int step) =>
        (tensor(Values(16 * 6, offset: step), [16, 6]), tensor(Enumerable.Range(step, 16).Select(i => (long)(i % 3)).ToArray()));

    /// <summary>
    /// The sparse file's network: a strided, padded convolution, average and max pooling with rectangular windows
    /// (what format version 2 added), and two linear layers; tensors with no zeros (stored dense), about 60 % zeros
    /// (bitmask) and 97 % (CSR).
    /// </summary>
    public static SequentialNetwork SparseNetwork()
    {
        var random = new Random(2025);
        float[] Draw(int count, double zeros = 0.6) => Enumerable.Range(0, count)
            .Select(_ => random.NextDouble() < zeros ? 0f : (float)(random.NextDouble() * 2 - 1)).ToArray();
        return new SequentialNetwork(2, 10, 10, new NetworkLayer[]
        {
            new Conv2dLayer("conv1", 2, 16, new Window2d(3, 3, 2, 2, 1, 1), Draw(16 * 2 * 3 * 3, zeros: 0), Draw(16)),
            new ReluLayer(),
            new AvgPool2dLayer(new Window2d(2, 1, 1, 1)),
            new Conv2dLayer("conv2", 16, 3, new Window2d(2, 3, 1, 1, 0, 1), Draw(3 * 16 * 2 * 3, zeros: 0.97), Draw(3)),
            new MaxPool2dLayer(new Window2d(2, 2, 2, 1)),
            new FlattenLayer(),
            new LinearLayer("fc1", 3 * 1 * 4, 6, Draw(12 * 6), Draw(6)),
            new ReluLayer(),
            new LinearLayer("fc2", 6, 3, Draw(6 * 3), Draw(3)),
        });
    }

    /// <summary>The fixed input of the sparse network: 3 images of 2 × 10 × 10.</summary>
    public static Tensor SparseInput() => tensor(Values(3 * 2 * 10 * 10), [3, 2, 10, 10]);
}
