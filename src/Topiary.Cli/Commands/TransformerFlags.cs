using Topiary.Training;

namespace Topiary.Cli.Commands;

/// <summary>The help of the training flags both Transformers take in <c>prune</c>, with each model's defaults and batch unit.</summary>
internal static class TransformerTrainingHelp
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
}
