namespace Topiary.Optimization;

/// <summary>
/// An optimizer whose step reads the batch itself (second-order: <see cref="ExactGaussNewtonOptimizer"/>). The training
/// step hands it the batch after the backward pass and before <see cref="MaskableOptimizer.Step"/>: a
/// <c>RegularizedStep</c> with this optimizer does so, and so does a <c>PruningSession</c> whose <c>Backward</c> runs the passes.
/// </summary>
public interface ICurvatureOptimizer
{
    /// <summary>The batch the next step reads; the step forgets it.</summary>
    void UseBatch(CurvatureBatch batch);
}
