using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Tuning;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

/// <summary>
/// Ridge regression as a bilevel problem, in float64 with everything in closed form: a bias-free <c>nn.Linear</c>,
/// L_train(w) = mean (x·w − y)² over two equal training batches, R = Σw² (<see cref="L2WeightDecay"/> at strength 1,
/// ∂R/∂w = 2w), so w*(λ) = (XᵀX/n + λI)⁻¹·Xᵀy/n, and F(w) = mean (x·w − y)² on the validation set.
/// </summary>
internal sealed class RidgeProblem : IDisposable
{
    private readonly Tensor xTrain, yTrain, xValid, yValid;

    public RidgeProblem(int seed = 7, int features = 5, int trainingRows = 40, int validationRows = 30, double noise = 1.0, double scheduledStrength = 0.05)
    {
        var generator = new Generator((ulong)seed);
        var truth = randn(features, 1, dtype: float64, generator: generator);
        xTrain = randn(trainingRows, features, dtype: float64, generator: generator).DetachFromDisposeScope();
        yTrain = xTrain.matmul(truth).add(randn(trainingRows, 1, dtype: float64, generator: generator).mul(noise)).DetachFromDisposeScope();
        xValid = randn(validationRows, features, dtype: float64, generator: generator).DetachFromDisposeScope();
        yValid = xValid.matmul(truth).add(randn(validationRows, 1, dtype: float64, generator: generator).mul(noise)).DetachFromDisposeScope();
        Model = nn.Linear(features, 1, hasBias: false, dtype: float64);
        ScheduledStrength = scheduledStrength;
        SetWeights(Solution(scheduledStrength));
    }

    public Linear Model { get; }
    public double ScheduledStrength { get; }
    public Parameter Weight => Model.weight!;
    public GradientRegularizer Regularizer { get; init; } = new L2WeightDecay();

    /// <summary>The problem at the model's weights; <paramref name="offline"/> adds the closed-form lower solve.</summary>
    public TuningProblem Problem(bool offline = true, PruningMasks? masks = null) => new()
    {
        Parameters = [Weight],
        Regularized = [Weight],
        Regularizer = Regularizer,
        ScheduledStrength = ScheduledStrength,
        Masks = masks,
        TrainingBatches = 2,
        TrainingLoss = i =>
        {
            var half = xTrain.shape[0] / 2;
            return nn.functional.mse_loss(Model.forward(xTrain.narrow(0, i * half, half)), yTrain.narrow(0, i * half, half));
        },
        ValidationBatches = 1,
        ValidationLoss = _ => nn.functional.mse_loss(Model.forward(xValid), yValid),
        SolveLower = offline ? (m, _) => { SetWeights(Solution(m * ScheduledStrength)); return true; } : null,
    };

    /// <summary>w*(λ) as a column.</summary>
    public Tensor Solution(double lambda)
    {
        var n = xTrain.shape[0];
        var a = xTrain.t().matmul(xTrain).div(n).add(eye(xTrain.shape[1], dtype: float64).mul(lambda));
        return linalg.solve(a, xTrain.t().matmul(yTrain).div(n));
    }

    /// <summary>F(w*(λ)), in plain doubles from the eigendecomposition XᵀX/n = QΛQᵀ: w* = Q·diag(1/(Λ + λ))·Qᵀ·Xᵀy/n.</summary>
    public double ValidationLoss(double lambda)
    {
        var (eigenvalues, projected, design, targets) = spectrum.Value;
        var loss = 0.0;
        for (var i = 0; i < targets.Length; i++)
        {
            var prediction = 0.0;
            for (var k = 0; k < eigenvalues.Length; k++) prediction += design[i, k] * projected[k] / (eigenvalues[k] + lambda);
            loss += (prediction - targets[i]) * (prediction - targets[i]);
        }
        return loss / targets.Length;
    }

    private Lazy<(double[] Eigenvalues, double[] Projected, double[,] Design, double[] Targets)> spectrum => cached ??= new(() =>
    {
        using var scope = NewDisposeScope();
        var n = xTrain.shape[0];
        var (values, vectors) = linalg.eigh(xTrain.t().matmul(xTrain).div(n));
        var projected = vectors.t().matmul(xTrain.t().matmul(yTrain).div(n)).flatten().data<double>().ToArray();
        var design = xValid.matmul(vectors);
        var d = (int)design.shape[1];
        var rows = (int)design.shape[0];
        var flat = design.flatten().data<double>().ToArray();
        var matrix = new double[rows, d];
        for (var i = 0; i < rows; i++) for (var k = 0; k < d; k++) matrix[i, k] = flat[i * d + k];
        return (values.data<double>().ToArray(), projected, matrix, yValid.flatten().data<double>().ToArray());
    });

    private Lazy<(double[] Eigenvalues, double[] Projected, double[,] Design, double[] Targets)>? cached;

    /// <summary>dF/dθ at w*(λ) by the implicit function theorem in closed form: −λ·(2w)ᵀ·(2XᵀX/n + 2λI)⁻¹·2X_vᵀ(X_v·w − y_v)/n_v.</summary>
    public double AnalyticLogGradient(double lambda)
    {
        using var scope = NewDisposeScope();
        var w = Solution(lambda);
        var n = xTrain.shape[0];
        var hessian = xTrain.t().matmul(xTrain).mul(2.0 / n).add(eye(xTrain.shape[1], dtype: float64).mul(2 * lambda));
        var upper = xValid.t().matmul(xValid.matmul(w).sub(yValid)).mul(2.0 / xValid.shape[0]);
        return -lambda * w.mul(2).t().matmul(linalg.solve(hessian, upper)).item<double>();
    }

    /// <summary>θ minimizing F on a grid of step 10⁻³ over |θ| ≤ <paramref name="range"/>.</summary>
    public double GridOptimum(double range = StrengthTuner.DefaultMaxLogMultiplier)
    {
        var best = (Theta: 0.0, Loss: double.PositiveInfinity);
        for (var theta = -range; theta <= range; theta += 1e-3)
        {
            var loss = ValidationLoss(Math.Exp(theta) * ScheduledStrength);
            if (loss < best.Loss) best = (theta, loss);
        }
        return best.Theta;
    }

    public void SetWeights(Tensor column)
    {
        using var _ = no_grad();
        Weight.copy_(column.t());
    }

    public void Dispose()
    {
        Model.Dispose();
        foreach (var t in new[] { xTrain, yTrain, xValid, yValid }) t.Dispose();
    }
}
