using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Reporting;

namespace Topiary.Experiments;

/// <summary>
/// The settings as checkpoints of Topiary 0.1.0 recorded them (layout version 1): one flat object with the knobs of
/// every method side by side (<c>method</c>, <c>gamma</c>, <c>alpha</c>, <c>crop_fraction</c>, <c>twt</c>, …,
/// <c>learning_rate</c>, <c>optimizer</c>, <c>momentum</c>, …, in snake case). Only read, so that those checkpoints still
/// resume: <see cref="ToOptions"/> gives today's <see cref="PruningOptions"/> for the same run, whose canonical form the
/// resumed run is compared with (<see cref="PruningMethods.UpgradeRecorded"/>).
/// </summary>
public static class PruningOptionsV1
{
    /// <summary>Whether <paramref name="recorded"/> is in this layout (it has no <c>version</c>).</summary>
    public static bool Holds(JsonObject recorded) => recorded["version"] is null;

    /// <summary>Today's options for the run <paramref name="recorded"/> describes: the named method with the settings that apply to it.</summary>
    /// <exception cref="JsonException">A field has the wrong type.</exception>
    /// <exception cref="PruningOptionException">The method or optimizer is unknown.</exception>
    public static PruningOptions ToOptions(JsonObject recorded)
    {
        var demo = PruningDefaults.Demo;
        var fields = new Fields(recorded);
        var method = new MethodSettings
        {
            Gamma = fields.Number("gamma"),
            Alpha = fields.Number("alpha"),
            GammaDecay = fields.Get<bool>("gamma_decay"),
            CropFraction = fields.Number("crop_fraction"),
            TargetSparsity = fields.Number("target_sparsity"),
            Twt = fields.Number("twt"),
            Pwe = fields.Get<int>("pwe"),
            Growth = fields.Number("growth"),
            Regularizers = recorded["regularizers"]?.GetValue<string>(),
        };
        var o = demo.Options;
        var optimizer = OptimizerOptions.Named(fields.Text("optimizer") ?? o.Optimizer.Name, fields.Number("learning_rate") ?? o.Optimizer.LearningRate,
            fields.Number("momentum"));
        return PruningMethods.Create(fields.Text("method") ?? o.Method.Name, demo, method) with
        {
            Optimizer = optimizer,
            TestCurve = fields.Get<bool>("test_curve") ?? o.TestCurve,
            RegularizedScope = (ParameterScope?)fields.Get<int>("regularized_scope") ?? o.RegularizedScope,
            PrunedScope = (ParameterScope?)fields.Get<int>("pruned_scope") ?? o.PrunedScope,
            Floor = fields.Number("floor") ?? o.Floor,
            Ceiling = fields.Number("ceiling") ?? o.Ceiling,
            EvalEvery = fields.Get<int>("eval_every") ?? o.EvalEvery,
            Patience = fields.Get<int>("patience") ?? o.Patience,
            DenseEpochs = fields.Get<int>("dense_epochs") ?? o.DenseEpochs,
            Epochs = fields.Get<int>("epochs") ?? o.Epochs,
            BatchSize = fields.Get<int>("batch_size") ?? o.BatchSize,
            Seed = fields.Get<int>("seed") ?? o.Seed,
        };
    }

    // The layout was written by the report serializer: snake case, and named literals for non-finite numbers.
    private sealed class Fields(JsonObject recorded)
    {
        public T? Get<T>(string key) where T : struct => recorded[key] is { } node ? node.Deserialize<T>(ReportJson.Options) : null;

        public double? Number(string key) => Get<double>(key);

        public string? Text(string key) => recorded[key]?.GetValue<string>();
    }
}
