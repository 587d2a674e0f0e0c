using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Optimization;

/// <summary>Topiary's own optimizers expose their buffers directly.</summary>
internal sealed class TopiaryOptimizerAccess(MaskableOptimizer optimizer) : OptimizerAccess
{
    public override string Kind => optimizer.GetType().Name;

    public override void Step() => optimizer.Step();

    public override void UseBatch(CurvatureBatch batch)
    {
        if (optimizer is ICurvatureOptimizer curvature) curvature.UseBatch(batch);
    }

    public override void Dispose()
    {
        if (Owns) optimizer.Dispose();
    }

    public override double LearningRate => optimizer.LearningRate;

    public override void SetLearningRate(double rate) => optimizer.LearningRate = rate;

    public override void ScaleLearningRate(double factor) => optimizer.LearningRate *= factor;

    public override long StepCount => optimizer.StepCount;

    public override void MaskState(Parameter parameter, Tensor mask) => optimizer.MaskState(parameter, mask);

    public override Dictionary<string, Tensor> SaveState()
    {
        using var _ = no_grad();
        return optimizer.StateBuffers().ToDictionary(b => b.Key, b => b.Value.detach().clone().DetachFromDisposeScope());
    }

    public override void LoadState(IReadOnlyDictionary<string, Tensor> state, long stepCount) => optimizer.LoadState(stepCount, state);
}
