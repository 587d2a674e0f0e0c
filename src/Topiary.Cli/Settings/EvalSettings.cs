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

    protected override IEnumerable<string?> Errors() => [.. base.Errors(), AtLeast("--bleu-pairs", BleuPairs, 1)];
}
