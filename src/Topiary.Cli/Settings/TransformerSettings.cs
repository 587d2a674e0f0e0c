using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Cli.Commands;
using Topiary.Language;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Settings;

/// <summary>The flags both Transformers take in <c>prune</c> and <c>compare</c>: the corpus, the sizes and the perplexity gate.</summary>
internal abstract class TransformerSettings : ImageSettings
{
    [CommandOption("--corpus <NAME>")]
    [Description("transformer-lm: web (World English Bible, Debian package sword-text-web; default), a SWORD zText module directory, or a UTF-8 text file")]
    [AppliesTo(ModelFamily.LanguageModel, AppliesToAttribute.Topic.Input)]
    public string? Corpus { get; init; }

    [CommandOption("--context <N>")]
    [Description("transformer-lm, transformer-mt: context length in characters, at least 2 (default 128)")]
    [AppliesTo(ModelFamily.Transformers)]
    public int? Context { get; init; }

    [CommandOption("--d-model <N>")]
    [Description("transformer-lm, transformer-mt: model width (default 128)")]
    [AppliesTo(ModelFamily.Transformers)]
    public int? DModel { get; init; }

    [CommandOption("--heads <N>")]
    [Description("transformer-lm, transformer-mt: attention heads, dividing --d-model (default 4)")]
    [AppliesTo(ModelFamily.Transformers)]
    public int? Heads { get; init; }

    [CommandOption("--layers <N>")]
    [Description("transformer-lm, transformer-mt: Transformer blocks (default 2; transformer-mt: 2 + 2)")]
    [AppliesTo(ModelFamily.Transformers)]
    public int? Layers { get; init; }

    [CommandOption("--ffn <N>")]
    [Description("transformer-lm, transformer-mt: feed-forward width (default 512)")]
    [AppliesTo(ModelFamily.Transformers)]
    public int? Ffn { get; init; }

    [CommandOption("--ceiling <P>")]
    [Description("transformer-lm, transformer-mt: validation perplexity ceiling for cropping and selection, at least 1")]
    [AppliesTo(ModelFamily.Transformers, AppliesToAttribute.Topic.Gate)]
    public double? Ceiling { get; init; }

    [CommandOption("--ceiling-ratio <R>")]
    [Description("transformer-lm, transformer-mt: without --ceiling, R × the dense validation perplexity, at least 1 (default 1.1)")]
    [AppliesTo(ModelFamily.Transformers, AppliesToAttribute.Topic.Gate)]
    public double? CeilingRatio { get; init; }

    /// <summary>The corpus to read: the flag, or the World English Bible.</summary>
    public string CorpusName => Corpus ?? CorpusCatalog.DefaultName;

    /// <summary>The ceiling as a multiple of the dense validation perplexity, for when no <c>--ceiling</c> is set.</summary>
    public double CeilingRatioOrDefault => CeilingRatio ?? 1.1;

    /// <summary>The model's sizes: the flags, or the defaults.</summary>
    public TransformerSizes Sizes => new(Context ?? 128, DModel ?? 128, Heads ?? 4, Layers ?? 2, Ffn ?? 512);

    public override PruningOptions OverTraining(PruningOptions defaults) => base.OverTraining(defaults) with { Ceiling = Ceiling ?? defaults.Ceiling };

    protected override IEnumerable<string?> Errors()
    {
        var s = Sizes;
        return
        [
            .. base.Errors(),
            AtLeast("--context", Context, 2),
            AtLeast("--d-model", DModel, 1),
            Heads is { } h && (h < 1 || s.ModelDim % h != 0) ? $"--heads: must divide --d-model {s.ModelDim}, got {h}" : null,
            AtLeast("--layers", Layers, 1),
            AtLeast("--ffn", Ffn, 1),
            CeilingRatio < 1 ? $"--ceiling-ratio: must be at least 1, got {CeilingRatio}" : null,
        ];
    }
}
