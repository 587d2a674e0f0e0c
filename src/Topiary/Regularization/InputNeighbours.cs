using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// The k-nearest-neighbour graph of a batch's inputs (Euclidean distance of the flattened inputs, each example's own row
/// excluded), the batch-local stand-in for the data manifold's neighbourhoods. Computed without gradient.
/// </summary>
internal static class InputNeighbours
{
    /// <summary>
    /// For each of the B rows of <paramref name="inputs"/>, the indices (B, k) of its <paramref name="neighbours"/> nearest
    /// other rows and their squared distances (B, k) in <paramref name="dtype"/>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">k is not between 1 and B − 1.</exception>
    public static (Tensor Indices, Tensor SquaredDistances) Of(Tensor inputs, int neighbours, ScalarType dtype)
    {
        var count = inputs.shape[0];
        if (neighbours < 1 || neighbours > count - 1)
            throw new ArgumentOutOfRangeException(nameof(neighbours), neighbours, $"a batch of {count} has between 1 and {count - 1} neighbours per example, asked for {neighbours}");
        using var _ = no_grad();
        var x = inputs.detach().flatten(1).to(float64);
        var squared = cdist(x, x).square();
        var self = eye(count, dtype: @bool, device: x.device);
        var (distances, indices) = squared.masked_fill(self, HeldScalar.Of(double.PositiveInfinity)).topk(neighbours, dim: 1, largest: false);
        return (indices, distances.to(dtype));
    }
}
