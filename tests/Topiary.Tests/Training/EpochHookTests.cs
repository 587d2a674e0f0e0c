using Topiary.Methods;
using Topiary.Optimization;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

/// <summary>The session tells regularizers about epoch boundaries and forward passes.</summary>
public class EpochHookTests
{
    private sealed class Probe : GradientRegularizer
    {
        public List<(long Step, int Epoch, int Epochs)> Epochs { get; } = [];
        public int Forwards { get; private set; }
        public Func<long> Step { get; set; } = () => -1;
        public override string Name => "probe";
        public override Tensor Penalty(Tensor weight, Tensor grad, double strength) => zeros(1).sum();
        public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets) => Forwards++;
        public override void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs) => Epochs.Add((Step(), epoch, epochs));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void Each_epoch_boundary_but_the_end_is_signalled_once_and_every_forward_pass_announced(bool composite)
    {
        using var scope = NewDisposeScope();
        manual_seed(1);
        using var model = nn.Sequential(nn.Linear(4, 3));
        var probe = new Probe();
        GradientRegularizer regularizer = composite ? new CompositeRegularizer([new RegularizerTerm(new L2WeightDecay(), 1e-4), new RegularizerTerm(probe, 1)]) : probe;
        using var session = new PruningSession(model, new RegularizerPruning("probe", () => regularizer) { CropFraction = 0.5 },
            new PruningSessionSettings { Bound = new MetricFloor(0), StepsPerEpoch = 3, TotalSteps = 10 });
        probe.Step = () => session.Step;
        using var optimizer = new AdamOptimizer(model.parameters(), 1e-2);
        session.Attach(optimizer);
        for (var step = 0; step < 10; step++)
        {
            session.Backward(randn(5, 4), randint(0, 3, new long[] { 5 }), (o, t) => nn.functional.cross_entropy(o, t));
            optimizer.Step();
            session.AfterStep();
        }
        // 10 steps of 3 are 4 epochs (the last one partial); epochs 2, 3 and 4 begin after steps 3, 6 and 9.
        Assert.Equal([(3L, 2, 4), (6L, 3, 4), (9L, 4, 4)], probe.Epochs);
        Assert.Equal(10, probe.Forwards);
    }
}
