namespace Topiary.Regularization;

/// <summary>
/// Soft orthonormality (SO) of Xie, Xiong, Pu, "All You Need is Beyond a Good Init: Exploring Better Solution
/// for Training Extremely Deep Convolutional Neural Networks with Orthonormality and Modulation" (CVPR 2017,
/// seed paper #18): R(W) = γ·‖W·Wᵀ − I‖_F² on the layer's filters (a kernel seen as out × in·k·k),
/// ∂R/∂W = 4γ·(W·Wᵀ − I)·W; when the layer has more filters than inputs, γ·‖Wᵀ·W − I‖_F² instead.
/// It is <see cref="GroupOrthogonality"/> with one group.
/// </summary>
public sealed class SoftOrthonormality : GroupOrthogonality
{
    /// <summary>Creates the regularizer.</summary>
    public SoftOrthonormality() : base(groups: 1) { }

    /// <inheritdoc />
    public override string Name => "so";
}
