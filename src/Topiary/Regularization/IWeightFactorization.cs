using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// A reparameterization W = merge(frozen, θ) of a weight matrix (rows × cols, a kernel seen as out × in·k·k) by a frozen
/// matrix and a flat vector θ of trainable factors, with a soft-orthogonality penalty on θ. <see cref="FactorizedFineTuning"/>
/// trains θ in place of W.
/// </summary>
internal interface IWeightFactorization
{
    /// <summary>The length of θ for a rows × cols matrix.</summary>
    long FactorCount(long rows, long cols);

    /// <summary>The frozen matrix and θ such that merge(frozen, θ) reproduces <paramref name="matrix"/> (to rounding).</summary>
    (Tensor Frozen, Tensor Factors) Initialize(Tensor matrix);

    /// <summary>W = merge(frozen, θ), differentiable in <paramref name="factors"/>.</summary>
    Tensor Merge(Tensor frozen, Tensor factors);

    /// <summary>The penalty before its strength, Σ‖XᵀX − I‖²_F over the factors X it keeps near orthogonal; differentiable.</summary>
    Tensor Orthogonality(Tensor factors, long rows, long cols);
}
