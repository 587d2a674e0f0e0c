using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Regularization;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary analyze</c>.</summary>
internal sealed class AnalyzeSettings : DataFileSettings
{
    /// <summary>Images in the batch <c>--gate</c> measures on (the authors' batch size).</summary>
    public const int GateBatch = 100;

    [CommandOption("--iterations <N>")]
    [Description("Gram iterations per layer, 1 to 30")]
    [DefaultValue(8)]
    public int Iterations { get; init; } = 8;

    [CommandOption("--gate")]
    [Description("also show the relevance gate exp(-|g|/alpha) per prunable tensor on the first 100 training images of --data")]
    public bool Gate { get; init; }

    [CommandOption("--alpha <ALPHA>")]
    [Description("with --gate: the gate's alpha, a number (the paper's 1) or auto:q, the q-quantile of each layer's |g|")]
    [DefaultValue("1")]
    public string Alpha { get; init; } = "1";

    [CommandOption("--nuclear-norm")]
    [Description("also show the matrix nuclear-norm (#65) of the softmax predictions on the test images of --data, exact and its L1,2 approximation")]
    public bool NuclearNorm { get; init; }

    [CommandOption("--neural-collapse")]
    [Description("also show neural-collapse measures (#57) of the penultimate features on the test images of --data: NC1 tr(Sw Sb+)/K, tr(Sw)/tr(Sb), equinorm and equiangularity of the class means")]
    public bool NeuralCollapse { get; init; }

    [CommandOption("--koopman")]
    [Description("also show the Koopman-bound weight factor (#70) of each dense layer, ||W||^s/det(W'W)^(1/4) with s = rank/2")]
    public bool Koopman { get; init; }

    [CommandOption("--grad-norm")]
    [Description("also show the gradient-norm complexity (#30), the mean squared norm of per-sample cross-entropy gradients, on --samples training images of --data")]
    public bool GradNorm { get; init; }

    [CommandOption("--samples <N>")]
    [Description("with --grad-norm: training images, one backward pass each; at least 1")]
    [DefaultValue(256)]
    public int Samples { get; init; } = 256;

    /// <summary>Whether a diagnostic reads <see cref="DataFileSettings.Data"/>.</summary>
    public bool ReadsData => Gate || NuclearNorm || GradNorm || NeuralCollapse;

    /// <summary>The gate <see cref="Alpha"/> describes; valid after validation.</summary>
    public RelevanceGate RelevanceGate => AlphaArgument.Parse("--alpha", Alpha, RelevanceGate.Paper, out _)!;

    protected override IEnumerable<string?> Errors()
    {
        AlphaArgument.Parse("--alpha", Alpha, RelevanceGate.Paper, out var alphaError);
        return [.. base.Errors(), Iterations is < 1 or > 30 ? $"--iterations: must lie in 1..30, got {Iterations}" : null, alphaError,
            AtLeast("--samples", Samples, 1)];
    }
}
