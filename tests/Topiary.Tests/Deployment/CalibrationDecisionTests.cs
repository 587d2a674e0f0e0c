using Topiary.Inference;

namespace Topiary.Tests.Deployment;

/// <summary>
/// Calibration's choice is a function of its timing table: hand-written tables give the engine and layers the rules
/// say, the same table always the same choice, and <see cref="SparseInferenceModel.Calibrate"/> on a fake clock
/// (every call takes the same time) makes the same choice on every run and on every CPU.
/// </summary>
public class CalibrationDecisionTests
{
    private static CalibrationTimings Table(double topiary, double libtorch, double ortOne, double ortTwo, params (double Sparse, double Dense)[] layers) =>
        new(32, layers.Select((l, i) => new LayerTiming($"layer{i}", l.Sparse, l.Dense)).ToList(), new[]
        {
            new EngineTiming(InferenceEngine.Topiary, 2, topiary),
            new EngineTiming(InferenceEngine.LibTorch, 2, libtorch),
            new EngineTiming(InferenceEngine.OnnxRuntime, 1, ortOne),
            new EngineTiming(InferenceEngine.OnnxRuntime, 2, ortTwo),
        });

    private static void AssertChoice(CalibrationChoice choice, InferenceEngine engine, int threads, params bool[] sparse)
    {
        Assert.Equal(engine, choice.Engine);
        Assert.Equal(threads, choice.Threads);
        Assert.Equal(sparse, choice.SparseLayers);
        Assert.Equal(32, choice.Batch);
    }

    [Fact]
    public void A_layer_runs_sparse_only_when_its_kernel_wins_by_the_margin()
    {
        // 1.0 × 1.15 < 1.2 sparse; 1.0 × 1.15 = 1.15 not below 1.15: dense; slower: dense.
        var choice = CalibrationDecision.Choose(Table(1.0, 5.0, 4.0, 3.0, (1.0, 1.2), (1.0, 1.15), (2.0, 1.0)));
        AssertChoice(choice, InferenceEngine.Topiary, 2, true, false, false);
    }

    [Fact]
    public void The_whole_network_runs_on_the_fastest_dense_engine_unless_Topiary_beats_it_by_the_margin()
    {
        // ONNX Runtime with 2 threads is the fastest dense engine (3.0); Topiary at 2.9 is faster, but not by 5%.
        AssertChoice(CalibrationDecision.Choose(Table(2.9, 5.0, 4.0, 3.0, (1.0, 2.0))), InferenceEngine.OnnxRuntime, 2, false);
        AssertChoice(CalibrationDecision.Choose(Table(2.8, 5.0, 4.0, 3.0, (1.0, 2.0))), InferenceEngine.Topiary, 2, true);
        // libtorch fastest of the dense engines.
        AssertChoice(CalibrationDecision.Choose(Table(9.0, 2.0, 4.0, 3.0, (1.0, 2.0))), InferenceEngine.LibTorch, 2, false);
        // ONNX Runtime with one thread.
        AssertChoice(CalibrationDecision.Choose(Table(9.0, 5.0, 1.0, 3.0, (1.0, 2.0))), InferenceEngine.OnnxRuntime, 1, false);
    }

    [Fact]
    public void A_plan_without_a_sparse_layer_is_not_Topiary_even_when_its_timing_is_lower()
    {
        AssertChoice(CalibrationDecision.Choose(Table(0.1, 5.0, 4.0, 3.0, (3.0, 1.0), (3.0, 1.0))), InferenceEngine.OnnxRuntime, 2, false, false);
    }

    [Fact]
    public void Ties_go_to_the_dense_engine_listed_first_and_the_same_table_gives_the_same_choice()
    {
        var table = Table(3.0, 3.0, 3.0, 3.0, (1.0, 1.0));
        var first = CalibrationDecision.Choose(table);
        AssertChoice(first, InferenceEngine.LibTorch, 2, false);
        for (var i = 0; i < 5; i++)
        {
            var again = CalibrationDecision.Choose(table with { Layers = table.Layers.ToList(), Engines = table.Engines.ToList() });
            Assert.Equal((first.Engine, first.Threads), (again.Engine, again.Threads));
            Assert.Equal(first.SparseLayers, again.SparseLayers);
        }
    }

    [Fact]
    public void A_table_without_a_dense_engine_is_refused()
    {
        var table = new CalibrationTimings(1, new[] { new LayerTiming("fc", 1, 2) }, new[] { new EngineTiming(InferenceEngine.Topiary, 1, 1) });
        Assert.Contains("no dense engine", Assert.Throws<ArgumentException>(() => CalibrationDecision.Choose(table)).Message);
    }

    /// <summary>A clock that moves one millisecond each time it is read: every action takes the same time, and samples are one call long.</summary>
    private sealed class SteadyClock : TimeProvider
    {
        private long now;

        public override long TimestampFrequency => 1_000;

        public override long GetTimestamp() => Interlocked.Increment(ref now);
    }

    [Fact]
    public void Calibrate_on_a_fake_clock_chooses_what_the_rules_make_of_its_table_on_every_run()
    {
        var network = PrunedNetworks.Network("lenet300", 0.95);
        var runs = new List<(IReadOnlyList<CalibrationTimings> Tables, InferenceEngine One, InferenceEngine ThirtyTwo)>();
        for (var run = 0; run < 2; run++)
        {
            using var model = new SparseInferenceModel(network);
            var tables = model.Calibrate(new[] { 1, 32 }, repeats: 3, clock: new SteadyClock());
            runs.Add((tables, model.EngineAt(1), model.EngineAt(32)));
            foreach (var table in tables)
            {
                // Equal times everywhere: no layer wins by the margin, so libtorch, the first dense engine, runs.
                Assert.All(table.Layers, l => Assert.Equal(l.SparseMilliseconds, l.DenseMilliseconds));
                Assert.DoesNotContain(table.Engines, e => e.Engine == InferenceEngine.Topiary);
                var choice = CalibrationDecision.Choose(table);
                Assert.Equal(choice.Engine, model.EngineAt(table.Batch));
                Assert.All(model.Plan(table.Batch), l => Assert.Equal(choice.Engine == InferenceEngine.Topiary && choice.SparseLayers[0], l.SparseAtBatch[table.Batch]));
            }
        }
        Assert.Equal((InferenceEngine.LibTorch, InferenceEngine.LibTorch), (runs[0].One, runs[0].ThirtyTwo));
        Assert.Equal((runs[0].One, runs[0].ThirtyTwo), (runs[1].One, runs[1].ThirtyTwo));
        Assert.Equal(runs[0].Tables.SelectMany(t => t.Engines.Select(e => (e.Engine, e.Threads, e.Milliseconds))),
            runs[1].Tables.SelectMany(t => t.Engines.Select(e => (e.Engine, e.Threads, e.Milliseconds))));
    }

    [Fact]
    public void An_applied_choice_decides_the_engine_for_its_batch_and_the_nearest_ones()
    {
        var network = PrunedNetworks.Network("lenet300", 0.95);
        using var model = new SparseInferenceModel(network);
        Assert.Equal(InferenceEngine.Topiary, model.EngineAt(8));
        model.Apply(new CalibrationChoice(1, InferenceEngine.Topiary, 2, new[] { true, false, true }));
        model.Apply(new CalibrationChoice(64, InferenceEngine.OnnxRuntime, 1, new[] { false, false, false }));
        Assert.Equal(InferenceEngine.Topiary, model.EngineAt(1));
        Assert.Equal(InferenceEngine.Topiary, model.EngineAt(7));
        Assert.Equal(InferenceEngine.OnnxRuntime, model.EngineAt(9));
        Assert.Equal(new[] { true, false, true }, model.Plan(1).Select(l => l.SparseAtBatch[1]));
        Assert.All(model.Plan(64), l => Assert.False(l.SparseAtBatch[64]));
        Assert.Contains("3 weighted layers", Assert.Throws<ArgumentException>(() => model.Apply(new CalibrationChoice(1, InferenceEngine.Topiary, 1, new[] { true }))).Message);
    }
}
