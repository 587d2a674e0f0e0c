using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Cli.Commands;
using Topiary.Language;

namespace Topiary.Cli.Settings;

/// <summary>The flags that describe a translation model's data in <c>prune</c> and <c>compare</c>.</summary>
internal abstract class TranslationPairSettings : TransformerSettings
{
    [CommandOption("--source <DIR>")]
    [Description("transformer-mt: SWORD zText module to translate from (default Reina-Valera 1909, sword-text-sparv)")]
    [AppliesTo(ModelFamily.Translation, AppliesToAttribute.Topic.Input)]
    public string? Source { get; init; }

    [CommandOption("--target <DIR>")]
    [Description("transformer-mt: SWORD zText module to translate into, paired verse by verse (default World English Bible, sword-text-web)")]
    [AppliesTo(ModelFamily.Translation, AppliesToAttribute.Topic.Input)]
    public string? Target { get; init; }

    [CommandOption("--validation-pairs <N>")]
    [Description("transformer-mt: verse pairs held out for validation by the seed (default 500)")]
    [AppliesTo(ModelFamily.Translation)]
    public int? ValidationPairs { get; init; }

    [CommandOption("--test-pairs <N>")]
    [Description("transformer-mt: verse pairs held out for test by the seed (default 500)")]
    [AppliesTo(ModelFamily.Translation)]
    public int? TestPairs { get; init; }

    [CommandOption("--bleu-pairs <N>")]
    [Description("transformer-mt: test pairs whose greedy translations BLEU scores, dense and pruned (default 500; compare: 200)")]
    [AppliesTo(ModelFamily.Translation)]
    public int? BleuPairs { get; init; }

    /// <summary>The pairs to read and hold out; <paramref name="bleuDefault"/> and <paramref name="subsetDefault"/> are the command's.</summary>
    public TranslationOptions Pairs(int bleuDefault, int? subsetDefault) => new(
        Source ?? ParallelCorpus.ReinaValeraDirectory, Target ?? CorpusCatalog.WorldEnglishBibleDirectory,
        ValidationPairs ?? ModelDefaults.HeldOutPairs, TestPairs ?? ModelDefaults.HeldOutPairs, BleuPairs ?? bleuDefault, Subset ?? subsetDefault);

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        AtLeast("--validation-pairs", ValidationPairs, 1),
        AtLeast("--test-pairs", TestPairs, 1),
        AtLeast("--bleu-pairs", BleuPairs, 1),
    ];
}
