using TorchSharp.Modules;
using Topiary.Backend;
using Topiary.Experiments;
using Topiary.Models;
using Topiary.Optimization;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

public class DenseScheduleTests
{
    [Fact]
    public void Cosine_starts_at_the_rate_halves_it_at_mid_phase_and_falls_towards_zero_without_reaching_it()
    {
        const double rate = 0.01;
        const long steps = 200;
        var values = Enumerable.Range(0, (int)steps).Select(t => LearningRateSchedule.Cosine.At(rate, t, steps)).ToList();
        Assert.Equal(rate, values[0], 15);
        Assert.Equal(rate / 2, values[100], 15);
        Assert.Equal(rate * 0.5 * (1 + Math.Cos(Math.PI * 37 / 200.0)), values[37], 15);
        Assert.All(values.Zip(values.Skip(1)), pair => Assert.True(pair.Second < pair.First));
        Assert.True(values[^1] > 0 && values[^1] < rate * 1e-3);
        Assert.All(Enumerable.Range(0, 5), t => Assert.Equal(rate, LearningRateSchedule.Constant.At(rate, t, 5)));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine.At(rate, steps, steps));
        Assert.Throws<ArgumentOutOfRangeException>(() => LearningRateSchedule.Cosine.At(rate, -1, steps));
    }

    [Theory]
    [InlineData(LearningRateSchedule.Constant)]
    [InlineData(LearningRateSchedule.Cosine)]
    public void Dense_training_steps_at_the_schedules_rate_and_every_step_counts(LearningRateSchedule schedule)
    {
        TorchBackend.EnsureVerified();
        using var data = TinyData.Split();
        manual_seed(1);
        using var model = new LeNet300();
        var task = new ImageClassificationTask(data);
        var recording = new RecordingOptions { LearningRate = 0.02 };
        var options = new PruningOptions { DenseEpochs = 2, BatchSize = 50, Optimizer = recording, DenseSchedule = schedule };

        DenseTrainer.Train(model, task, options);

        var total = task.StepsPerEpoch(50) * 2L;
        Assert.Equal(total, recording.Rates.Count);
        for (var t = 0; t < total; t++) Assert.Equal(schedule.At(0.02, t, total), recording.Rates[t], 15);
    }

    [Fact]
    public void Only_a_schedule_other_than_constant_is_named_in_the_description_so_earlier_identities_hold()
    {
        Assert.False(new PruningOptions().Describe().ContainsKey("dense_schedule"));
        Assert.Equal("cosine", new PruningOptions { DenseSchedule = LearningRateSchedule.Cosine }.Describe()["dense_schedule"]!.GetValue<string>());
    }

    /// <summary>An optimizer that records the rate of each step and leaves the weights alone.</summary>
    private sealed record RecordingOptions : Topiary.Experiments.OptimizerOptions
    {
        public List<double> Rates { get; } = [];
        public override string Name => "recording";
        public override MaskableOptimizer Create(IEnumerable<Parameter> parameters) => new RecordingOptimizer(parameters, LearningRate, Rates);
    }

    private sealed class RecordingOptimizer(IEnumerable<Parameter> parameters, double rate, List<double> rates) : MaskableOptimizer(parameters, rate)
    {
        public override void Step() => rates.Add(LearningRate);
        public override void MaskState(Parameter parameter, Tensor mask) { }
        public override IReadOnlyDictionary<string, Tensor> StateBuffers() => new Dictionary<string, Tensor>();
        public override void Dispose() { }
    }
}
