using Topiary.Backend;
using Topiary.Reporting;
using static TorchSharp.torch;

namespace Topiary.Analysis;

/// <summary>The matrix nuclear-norm of a model's predictions on a set of inputs.</summary>
/// <param name="Exact">‖A‖_*/B: the sum of the singular values of the B × C probability matrix A, over B.</param>
/// <param name="Approximation">The paper's SVD-free L1,2 approximation (1/B)·Σ_{j ≤ D}‖A_{:,j}‖₂ over the D = min(B, C) largest columns.</param>
/// <param name="Rows">B, the number of inputs.</param>
/// <param name="Columns">C, the number of classes.</param>
public sealed record NuclearNormMetric(double Exact, double Approximation, long Rows, long Columns);

/// <summary>
/// The matrix nuclear-norm metric of Li et al., "Large Language Model Evaluation via Matrix Nuclear-Norm" (2024,
/// seed paper #65): with A the B × C matrix of softmax probabilities of B inputs, ‖A‖_*/B measures at once how
/// confident (each row near one-hot) and how diverse (rows spread over the classes) the predictions are; it is
/// largest for confident predictions spread evenly over the classes. The paper approximates it without an SVD by (1/B)·Σ_{j=1}^{D}‖A_{:,j}‖₂, the L1,2 norm of the D = min(B, C) columns of
/// largest ℓ2 norm, which equals ‖A‖_* when the columns are orthogonal (distinct one-hot predictions) and bounds it
/// from above when D = C (‖A‖_* ≤ Σ_j‖A_{:,j}‖₂, the triangle inequality over the rank-one columns). Adapted from
/// a language model's vocabulary to a classifier's classes.
/// </summary>
public static class MatrixNuclearNorm
{
    /// <summary>‖A‖_*/B for a B × C matrix of probabilities, by SVD in float64.</summary>
    public static double Exact(Tensor probabilities)
    {
        using var scope = NewDisposeScope();
        var a = Matrix(probabilities);
        return linalg.svdvals(a).sum().item<double>() / a.shape[0];
    }

    /// <summary>(1/B)·Σ_{j ≤ D}‖A_{:,j}‖₂ over the D = min(B, C) columns of largest norm: O(BC), no SVD.</summary>
    public static double Approximation(Tensor probabilities)
    {
        using var scope = NewDisposeScope();
        var a = Matrix(probabilities);
        var norms = a.square().sum([0L]).sqrt();
        var d = Math.Min(a.shape[0], a.shape[1]);
        return norms.topk((int)d).values.sum().item<double>() / a.shape[0];
    }

    /// <summary>Both forms on the softmax outputs of <paramref name="model"/> (in evaluation mode) over <paramref name="inputs"/>, in batches.</summary>
    public static NuclearNormMetric Measure(nn.Module<Tensor, Tensor> model, Tensor inputs, int batchSize = 1000)
    {
        TorchBackend.EnsureVerified();
        using var scope = NewDisposeScope();
        var probabilities = Predictions.Probabilities(model, inputs, batchSize);
        return new NuclearNormMetric(Exact(probabilities), Approximation(probabilities), probabilities.shape[0], probabilities.shape[1]);
    }

    private static Tensor Matrix(Tensor probabilities)
    {
        if (probabilities.dim() != 2 || probabilities.shape[0] == 0)
            throw new ArgumentException($"expected a non-empty B × C matrix, got shape [{string.Join(", ", probabilities.shape)}]", nameof(probabilities));
        return probabilities.detach().cpu().to(float64);
    }
}
