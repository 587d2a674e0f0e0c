using Topiary.Pruning;
using static TorchSharp.torch;

namespace Topiary.Tests.Pruning;

public class NetTrimTests
{
    [Fact]
    public void On_a_planted_sparse_layer_it_recovers_the_support_within_epsilon_and_its_residuals_vanish()
    {
        using var scope = NewDisposeScope();
        var x = randn(400, 20, dtype: float64, generator: new Generator(1));
        var planted = zeros(5, 20, dtype: float64);
        var generator = new Generator(2);
        for (var row = 0; row < 5; row++)
            foreach (var column in randperm(20, generator: generator).narrow(0, 0, 3).data<long>().ToArray())
                planted[row, column] = (column % 2 == 0 ? 1 : -1) * (0.5 + rand(1, dtype: float64, generator: generator).item<double>());
        // A dense layer that realizes the same responses up to small noise: what a trained layer looks like.
        var dense = planted.add(randn(5, 20, dtype: float64, generator: new Generator(3)).mul(0.002));

        var result = NetTrimLayer.Trim(x, dense, bias: null, relu: true, relativeEpsilon: 0.02, rho: 5, iterations: 600);

        Assert.True(result.RelativeResponseError <= 0.02 * 1.05, $"response error {result.RelativeResponseError}");
        Assert.True(result.PrimalResidual < 1e-3, $"ADMM primal residual {result.PrimalResidual}");
        Assert.True(result.Weight.abs().sum().item<double>() <= dense.abs().sum().item<double>(), "‖U‖₁ must not exceed the original's");
        var found = result.Weight.abs().gt(0.05);
        Assert.True(found.eq(planted.ne(0)).all().item<bool>(), $"support differs in {found.ne(planted.ne(0)).sum().item<long>()} entries");
        Assert.True(result.Weight.count_nonzero().item<long>() < dense.count_nonzero().item<long>());
    }

    [Fact]
    public void Cascade_pruning_of_an_MLP_keeps_every_layer_within_epsilon_of_the_original_responses_and_removes_weights()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        var model = nn.Sequential(nn.Linear(30, 24), nn.ReLU(), nn.Linear(24, 16), nn.ReLU(), nn.Linear(16, 4));
        var calibration = randn(300, 30, generator: new Generator(5));
        var before = model.parameters().Sum(p => p.count_nonzero().item<long>());
        var reports = NetTrimPruner.Prune(model, calibration, relativeEpsilon: 0.1, cascade: true, rho: 10, iterations: 300);
        Assert.Equal(3, reports.Count);
        Assert.All(reports, r => Assert.True(r.RelativeResponseError < 0.15, $"{r.Name}: {r.RelativeResponseError}"));
        Assert.True(model.parameters().Sum(p => p.count_nonzero().item<long>()) < before);
    }
}
