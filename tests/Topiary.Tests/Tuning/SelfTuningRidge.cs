using TorchSharp;
using TorchSharp.Modules;
using Topiary.Optimization;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Tuning;
using static TorchSharp.torch;

namespace Topiary.Tests.Tuning;

/// <summary>
/// Ridge regression for the self-tuning tests: nn.Linear(d, o) without bias in float64, the mean squared error over the
/// n·o entries, R = Σw² (<see cref="L2WeightDecay"/>, ∂R/∂w = 2w). Row o of W then minimizes
/// L + λR with ∇ = H·w_o − (2/(n·o))·Xᵀy_o + 2λ·w_o, H = 2XᵀX/(n·o), so W*(λ) = (2/(n·o))·YᵀX·(H + 2λI)⁻¹ and, with
/// λ = e^ψ·λ_t, dW*/dψ = −2λ·W*·(H + 2λI)⁻¹ (row by row: −(H + 2λI)⁻¹·2λ·w*_o, H symmetric).
/// </summary>
internal sealed class SelfTuningRidge : IDisposable
{
    private readonly DisposeScope scope = NewDisposeScope();

    public SelfTuningRidge(int seed, Tensor trainX, Tensor trainY, Tensor validationX, Tensor validationY)
    {
        manual_seed(seed);
        X = trainX;
        Y = trainY;
        ValidationX = validationX;
        ValidationY = validationY;
        Model = nn.Linear(X.shape[1], Y.shape[1], hasBias: false, dtype: float64);
        Weight = Model.parameters().Single();
    }

    /// <summary>y = X·w_trueᵀ + noise·ε for training and validation, the same w_true.</summary>
    public static SelfTuningRidge Generated(int seed, int n = 64, int d = 4, int o = 2, double noise = 0.5, double validationNoise = 0.5,
        bool validationWeightsZero = false)
    {
        var generator = new Generator((ulong)seed);
        var w = randn(o, d, dtype: float64, generator: generator);
        var x = randn(n, d, dtype: float64, generator: generator);
        var y = x.matmul(w.t()).add(randn(n, o, dtype: float64, generator: generator).mul(noise));
        var xv = randn(n, d, dtype: float64, generator: generator);
        var yv = (validationWeightsZero ? zeros(n, o, dtype: float64) : xv.matmul(w.t())).add(randn(n, o, dtype: float64, generator: generator).mul(validationNoise));
        return new SelfTuningRidge(seed, x, y, xv, yv);
    }

    public Tensor X { get; }
    public Tensor Y { get; }
    public Tensor ValidationX { get; }
    public Tensor ValidationY { get; }
    public Linear Model { get; }
    public Parameter Weight { get; }

    private double Scale => 2.0 / (X.shape[0] * Y.shape[1]);

    /// <summary>H + 2λI.</summary>
    private Tensor System(double lambda) => X.t().matmul(X).mul(Scale).add(eye(X.shape[1], dtype: float64).mul(2 * lambda));

    /// <summary>W*(λ).</summary>
    public Tensor Solution(double lambda) => Y.t().matmul(X).mul(Scale).matmul(linalg.inv(System(lambda)));

    /// <summary>dW*/dψ at λ for the weights <paramref name="w"/> (W* itself for the analytic slope).</summary>
    public Tensor Slope(double lambda, Tensor w) => w.matmul(linalg.inv(System(lambda))).mul(-2 * lambda);

    public Tensor ValidationLoss() => nn.functional.mse_loss(Model.forward(ValidationX), ValidationY);

    /// <summary>∇L_val at the model's weights.</summary>
    public Tensor ValidationGradient() => autograd.grad([ValidationLoss()], [Weight])[0].detach();

    public void SetWeight(Tensor w)
    {
        using var _ = no_grad();
        Weight.copy_(w);
    }

    /// <summary>Training steps under the tuner's wrapper of L2 at the step strength m·λ_t, plain SGD on W_e.</summary>
    public void Train(SelfTuningTuner tuner, double scheduled, int steps, double learningRate = 0.1)
    {
        using var optimizer = new SgdOptimizer(Model.parameters(), learningRate, momentum: 0);
        using var step = new RegularizedStep(Model, optimizer, tuner.Wrap(new L2WeightDecay()), [Weight], masks: null,
            lossFunction: (output, target) => nn.functional.mse_loss(output, target));
        for (var k = 0; k < steps; k++) step.Run(X, Y, tuner.Multiplier * scheduled);
    }

    public TuningProblem Problem(double scheduled) => new()
    {
        Parameters = [Weight],
        Regularized = [Weight],
        Regularizer = new L2WeightDecay(),
        ScheduledStrength = scheduled,
        TrainingBatches = 1,
        TrainingLoss = _ => nn.functional.mse_loss(Model.forward(X), Y),
        ValidationBatches = 2,   // the validation set in two halves: the tuner averages their losses
        ValidationLoss = i => nn.functional.mse_loss(Model.forward(ValidationX.chunk(2)[i]), ValidationY.chunk(2)[i]),
    };

    public void Dispose()
    {
        Model.Dispose();
        scope.Dispose();
    }
}
