using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary eval</c>; which apply depends on the model in the file.</summary>
internal sealed class EvalSettings : DataFileSettings
{
    [CommandOption("--corpus <NAME>")]
    [Description("transformer-lm files: the corpus (default: the one it was trained on)")]
    public string? Corpus { get; init; }

    [CommandOption("--bleu-pairs <N>")]
    [Description("transformer-mt files: test pairs BLEU translates (default 500)")]
    public int? BleuPairs { get; init; }

    [CommandOption("--calibration")]
    [Description("image models: also ECE, NLL and accuracy (#112) on the test set and under Gaussian noise, blur and contrast at severities 1 to 5")]
    public bool Calibration { get; init; }

    [CommandOption("--against <FILE>")]
    [Description("with --calibration: a model of the same kind (the dense model the pruned one came from) measured beside it")]
    public string? Against { get; init; }

    [CommandOption("--corrupted-images <N>")]
    [Description("with --calibration: the first N test images are corrupted (0: no corruptions)")]
    [DefaultValue(1000)]
    public int CorruptedImages { get; init; } = 1000;

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(), AtLeast("--bleu-pairs", BleuPairs, 1), AtLeast("--corrupted-images", CorruptedImages, 0),
        Against is not null && !Calibration ? "--against: only with --calibration" : null,
    ];
}
