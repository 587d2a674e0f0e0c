namespace Topiary.DataSelection;

/// <summary>How <see cref="DataDiet"/> scores a training example's importance (Paul et al. 2021); higher is more important.</summary>
public enum ExampleScore
{
    /// <summary>EL2N: ‖softmax(f(x)) − onehot(y)‖₂, the error's norm (<see cref="ExampleScores.El2n"/>).</summary>
    El2n,

    /// <summary>GraNd: ‖∇_w ℓ(f(x), y)‖₂, the loss gradient's norm (<see cref="ExampleScores.GraNd"/>).</summary>
    GraNd,
}
