using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Commands;

/// <summary>The training and gate flags both Transformers take in <c>prune</c> and <c>compare</c>: their help and the perplexity gate.</summary>
internal static class TransformerFlags
{
    public static string Text(PruningOptions defaults, string batchUnit) => $"""
          --method relevance|l2|l1|none   regularizer (default {defaults.Method})
          --gamma G, --alpha A        γ0 and α (default {defaults.Gamma:0.###e0}, {defaults.Alpha}); --no-gamma-decay keeps γ constant
          --scope all|weights         tensors regularized and pruned (default all)
          --crop-fraction T           fraction of remaining parameters removed per crop (default {defaults.CropFraction})
          --ceiling P                 validation perplexity ceiling for cropping and selection (≥ 1)
          --ceiling-ratio R           without --ceiling: R × the dense validation perplexity (default 1.1)
          --eval-every E, --patience P    (default {defaults.EvalEvery}, {defaults.Patience})
          --dense-epochs N, --epochs N    dense training, then the pruning budget (default {defaults.DenseEpochs}, {defaults.Epochs})
          --batch-size N, --lr LR     {batchUnit} per batch and learning rate (default {defaults.BatchSize}, {defaults.LearningRate:0.###e0})
          --optimizer adam|sgd, --momentum M
        """;

    /// <summary>
    /// The perplexity gate: <c>--ceiling</c> into <paramref name="options"/>, <c>--ceiling-ratio</c> (at least 1,
    /// default 1.1) for when no ceiling is set, and <c>--floor</c>, the image models' accuracy gate, refused.
    /// </summary>
    public static (PruningOptions Options, double CeilingRatio) ReadGate(ArgumentReader args, PruningOptions options, string architecture)
    {
        if (args.Has("floor")) throw new CliUsageException($"--floor: {architecture} is gated by perplexity; use --ceiling or --ceiling-ratio");
        var ratio = args.Double("ceiling-ratio", 1.1);
        if (ratio < 1) throw new CliUsageException($"--ceiling-ratio: must be at least 1, got {ratio}");
        return (options with { Ceiling = args.Double("ceiling", options.Ceiling) }, ratio);
    }
}
