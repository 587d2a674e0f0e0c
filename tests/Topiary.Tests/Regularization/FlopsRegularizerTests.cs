using TorchSharp;
using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class FlopsRegularizerTests
{
    [Fact]
    public void The_value_is_the_sum_over_dimensions_of_the_squared_mean_absolute_activation()
    {
        using var scope = NewDisposeScope();
        var a = tensor(new[,] { { 1.0, -2.0, 0.0 }, { 3.0, 0.0, 0.0 } }, dtype: float64);
        // means of |a| per column: 2, 1, 0
        Assert.Equal(5.0, FlopsRegularizer.Flops(a).item<double>(), 12);
    }

    [Fact]
    public void At_equal_L1_mass_spreading_non_zeros_over_dimensions_costs_less_which_L1_cannot_see()
    {
        using var scope = NewDisposeScope();
        var concentrated = zeros(4, 4, dtype: float64);
        concentrated[.., 0] = ones(4, dtype: float64);
        var spread = eye(4, dtype: float64);
        Assert.Equal(concentrated.abs().sum().item<double>(), spread.abs().sum().item<double>());
        Assert.True(FlopsRegularizer.Flops(spread).item<double>() < FlopsRegularizer.Flops(concentrated).item<double>());
    }

    [Fact]
    public void In_a_step_its_gradient_is_autograd_of_loss_plus_the_penalty_on_the_hidden_activations()
    {
        using var scope = NewDisposeScope();
        var inputs = randn(8, 4, dtype: float64, generator: new Generator(1));
        var targets = randint(0, 3, new long[] { 8 }, generator: new Generator(2));
        manual_seed(3);
        var model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 3));
        model.to(float64);
        var parameters = model.parameters().ToList();

        // Reference: the penalty on relu(fc1(x)), the input of the second layer.
        var hidden = nn.functional.relu(nn.functional.linear(inputs, parameters[0], parameters[1]));
        var reference = nn.functional.cross_entropy(nn.functional.linear(hidden, parameters[2], parameters[3]), targets)
            .add(FlopsRegularizer.Flops(hidden).mul(0.7));
        var expected = torch.autograd.grad(new[] { reference }, parameters.Cast<Tensor>().ToList()).Select(g => g.detach().clone()).ToList();

        var applied = Check.AppliedGradients(model, new FlopsRegularizer(), inputs, targets, 0.7);
        for (var i = 0; i < parameters.Count; i++)
            Assert.True(Check.MaxRelativeDifference(applied[i], expected[i]) < 1e-10, $"parameter {i}");
    }
}

public class ActivationRecorderTests
{
    [Fact]
    public void On_LeNet300_it_records_the_inputs_of_the_second_and_third_layers()
    {
        using var scope = NewDisposeScope();
        var model = new Topiary.Models.LeNet300();
        using var recorder = new ActivationRecorder(model);
        recorder.Start();
        model.forward(randn(5, 1, 28, 28));
        recorder.Stop();
        Assert.Equal(new[] { new long[] { 5, 300 }, new long[] { 5, 100 } }, recorder.Activations.Select(a => a.shape));
        Assert.True(recorder.Activations.All(a => a.min().item<float>() >= 0), "post-ReLU activations");
    }
}
