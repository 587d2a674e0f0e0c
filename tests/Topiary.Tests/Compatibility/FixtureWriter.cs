using Topiary.Methods;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Inference;
using Topiary.Language;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Serialization;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;

namespace Topiary.Tests.Compatibility;

/// <summary>A fact that runs only when <c>TOPIARY_WRITE_FIXTURES=1</c>: it writes files into the source tree.</summary>
internal sealed class WriteFixturesFactAttribute : FactAttribute
{
    public WriteFixturesFactAttribute()
    {
        if (Environment.GetEnvironmentVariable("TOPIARY_WRITE_FIXTURES") != "1")
            Skip = "writes the format fixtures into the source tree; run with TOPIARY_WRITE_FIXTURES=1 (see Fixtures/README.md)";
    }
}

/// <summary>
/// The generator of <c>tests/Topiary.Tests/Fixtures/v0.1.0</c>: one small file of each persistent format, written by
/// the code of the commit that last changed <c>src/</c>, and beside each an <c>.expected.json</c> with the values
/// <see cref="FormatCompatibilityTests"/> checks. Run once per format generation, never to "fix" a failing
/// compatibility test: the files stand for what users already have.
/// </summary>
public class FixtureWriter
{
    [WriteFixturesFact]
    public void Write_the_fixtures_of_this_version()
    {
        var commit = SourceCommit();
        // One thread: libtorch's reductions (BatchNorm's statistics) then add in one order, and the files repeat byte for byte.
        using var threads = TorchThreads.Use(1);
        var folder = FixtureModels.SourceFolder;
        Directory.CreateDirectory(folder);
        WriteUserModel(folder, commit);
        WriteLanguageModel(folder, commit);
        WriteSparse(folder, commit, half: false);
        WriteSparse(folder, commit, half: true);
        WriteTrainingCheckpoint(folder, commit);
        WriteSessionCheckpoint(folder, commit);
    }

    private static void WriteUserModel(string folder, string commit)
    {
        const string name = "user-model.topiary";
        manual_seed(21);
        using var model = FixtureModels.UserModel();
        // Running statistics away from their defaults, and num_batches_tracked = 3.
        model.train();
        using (no_grad())
            for (var i = 0; i < 3; i++)
                using (var x = tensor(FixtureModels.Values(16 * 6, offset: 5 * i), [16, 6])) model.forward(x).Dispose();
        model.eval();
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        var config = new JsonObject { ["hidden"] = 8 };
        var metadata = new JsonObject { ["fixture"] = "user model", ["seed"] = 21 };
        ModelFile.Save(Path.Combine(folder, name), FixtureModels.UserArchitecture, model, masks, metadata, config);
        using var input = FixtureModels.UserInput();
        using var output = model.forward(input);
        Record(folder, name, commit, "a user's nn.Sequential (linear 6→8, BatchNorm1d, ReLU, linear 8→3; seed 21; running statistics from 3 "
            + "batches) saved by ModelFile.Save under 'fixture-mlp' with config {hidden: 8}, 50 % of weights and biases pruned by global magnitude; "
            + "output: eval mode on FixtureModels.UserInput()", new JsonObject
        {
            ["architecture"] = FixtureModels.UserArchitecture,
            ["config"] = config.DeepClone(),
            ["metadata"] = metadata.DeepClone(),
            ["state"] = FixtureValues.Tensors(model.state_dict()),
            ["masks"] = FixtureValues.Masks(masks.Entries.Select(e => KeyValuePair.Create(e.Name, e.Mask))),
            ["output"] = FixtureValues.Values(output),
        });
    }

    private static void WriteLanguageModel(string folder, string commit)
    {
        const string name = "transformer-lm.topiary";
        manual_seed(5);
        using var model = new TransformerLanguageModel(FixtureModels.LanguageModelConfig);
        model.eval();
        // The embeddings start far smaller than the blocks' weights, so a global ranking would prune all of them: only the blocks are masked.
        using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases).Where(p => p.Name.StartsWith("blocks.", StringComparison.Ordinal)));
        GlobalMagnitudePruner.PruneFraction(masks, 0.5);
        var tokenizer = new CharacterTokenizer(FixtureModels.LanguageModelVocabulary);
        var metadata = new JsonObject { ["fixture"] = "catalogue language model", ["seed"] = 5 };
        LanguageModelFile.Save(Path.Combine(folder, name), model, tokenizer, masks, metadata);
        using var input = FixtureModels.TokenInput();
        Tensor output;
        using (no_grad()) output = model.forward(input);
        using var _ = output;
        Record(folder, name, commit, "the catalogue's Transformer language model (vocabulary U+FFFD then a-k, context 8, width 16, 2 heads, "
            + "2 layers, feed-forward 32; seed 5) saved by LanguageModelFile.Save, 50 % of the blocks' weights and biases pruned by global "
            + "magnitude (the embeddings unmasked); "
            + "output: the logits of FixtureModels.TokenInput() in eval mode", new JsonObject
        {
            ["architecture"] = TransformerLanguageModel.ArchitectureName,
            ["vocabulary"] = tokenizer.Vocabulary,
            ["metadata"] = metadata.DeepClone(),
            ["state"] = FixtureValues.Tensors(model.state_dict()),
            ["masks"] = FixtureValues.Masks(masks.Entries.Select(e => KeyValuePair.Create(e.Name, e.Mask))),
            ["output"] = FixtureValues.Values(output),
        });
    }

    private static void WriteSparse(string folder, string commit, bool half)
    {
        var name = half ? "sparse-half.tsparse" : "sparse.tsparse";
        var network = FixtureModels.SparseNetwork();
        var metadata = new JsonObject { ["fixture"] = half ? "sparse file, float16 values" : "sparse file, float32 values" };
        var path = Path.Combine(folder, name);
        SparseModelFile.Save(path, network, architecture: null, half, metadata);
        // The outputs of the network as stored (float16 rounds the values), through the sparse kernels.
        var stored = SparseModelFile.Load(path);
        Record(folder, name, commit, $"SparseModelFile.Save of FixtureModels.SparseNetwork() (strided, padded convolution, average and max "
            + $"pooling with rectangular windows, two linear layers; about 60 % zeros){(half ? " with half precision" : "")}; output: "
            + "SparseInferenceModel.Forward of FixtureModels.SparseInput()", SparseSummary(stored, metadata));
    }

    /// <summary>What a sparse file holds, as recorded and as checked.</summary>
    internal static JsonObject SparseSummary(SparseModel model, JsonObject metadata)
    {
        using var inference = new SparseInferenceModel(model.Network);
        using var input = FixtureModels.SparseInput();
        using var output = inference.Forward(input);
        var parameters = model.Network.Parameters().ToDictionary(p => p.Name);
        var tensors = new JsonObject();
        foreach (var t in model.Tensors)
            tensors[t.Name] = new JsonObject
            {
                ["shape"] = new JsonArray(t.Shape.Select(d => (JsonNode)d).ToArray()),
                ["layout"] = t.Layout.ToString().ToLowerInvariant(),
                ["nonzero"] = t.Nonzero,
                ["sum"] = parameters[t.Name].Values.Sum(v => (double)v),
            };
        return new JsonObject
        {
            ["architecture"] = model.Architecture,
            ["half_precision"] = model.HalfPrecision,
            ["metadata"] = metadata.DeepClone(),
            ["input"] = new JsonArray(model.Network.InputChannels, model.Network.InputHeight, model.Network.InputWidth),
            ["layers"] = new JsonArray(model.Network.Layers.Select(Describe).ToArray()),
            ["tensors"] = tensors,
            ["output"] = FixtureValues.Values(output),
        };
    }

    private static JsonNode Describe(NetworkLayer layer)
    {
        var node = new JsonObject { ["kind"] = layer.Kind };
        if (layer is WeightedLayer weighted)
        {
            node["name"] = weighted.Name;
            node["weight_shape"] = new JsonArray(SequentialNetwork.WeightShape(layer).Select(d => (JsonNode)d).ToArray());
        }
        if (layer switch { Conv2dLayer c => c.Window, MaxPool2dLayer m => m.Window, AvgPool2dLayer a => a.Window, _ => (Window2d?)null } is { } w)
            node["window"] = new JsonArray(w.KernelHeight, w.KernelWidth, w.StrideHeight, w.StrideWidth, w.PaddingHeight, w.PaddingWidth);
        return node;
    }

    /// <summary>The settings of the run that wrote <c>training.ckpt</c>; a resume must use the same.</summary>
    internal static PruningOptions TrainingOptions => new()
    {
        Method = new RelevancePruning { CropFraction = 0.2 },
        DenseEpochs = 0, Epochs = 1, EvalEvery = 5, Floor = 0.0, BatchSize = 50, Patience = 50, Seed = 3,
        Optimizer = new AdamOptions { LearningRate = 1e-2 },
    };

    private static void WriteTrainingCheckpoint(string folder, string commit)
    {
        const string name = "training.ckpt";
        TorchBackend.EnsureVerified();
        using var data = TinyData.Split();
        using var dir = new TestDirectory();
        manual_seed(1);
        using var model = new TinyPoolNet();
        PruningMethods.Loop(model, new ImageClassificationTask(data), TrainingOptions, checkpoints: new CheckpointOptions { Directory = dir.Path }).Run();
        File.Copy(Path.Combine(dir.Path, CheckpointOptions.LastFileName), Path.Combine(folder, name), overwrite: true);
        using var checkpoint = TrainingCheckpoint.Load(Path.Combine(folder, name));
        Record(folder, name, commit, "last.ckpt of a PruningLoop run of the tests' TinyPoolNet (seed 1) on TinyData (split seed 1): relevance "
            + "pruning, Adam at 1e-2, one epoch of batches of 50, evaluation every 5 steps, crop 20 %, floor 0, seed 3 (FixtureWriter.TrainingOptions)",
            TrainingSummary(checkpoint));
    }

    /// <summary>What a training checkpoint holds, as recorded and as checked.</summary>
    internal static JsonObject TrainingSummary(TrainingCheckpoint checkpoint)
    {
        var s = checkpoint.State;
        return new JsonObject
        {
            ["state"] = new JsonObject
            {
                ["options"] = JsonSerializer.SerializeToNode(s.Options, ReportJson.Options),
                ["steps_per_epoch"] = s.StepsPerEpoch,
                ["step"] = s.Step,
                ["gamma_steps_since_reset"] = s.GammaStepsSinceReset,
                ["learning_rate"] = s.LearningRate,
                ["optimizer_steps"] = s.OptimizerSteps,
                ["loss_count"] = s.LossCount,
                ["trajectory"] = new JsonArray(s.Trajectory.Select(p => (JsonNode)new JsonObject
                {
                    ["step"] = p.Step, ["remaining_fraction"] = p.PrunableRemainingFraction, ["val_accuracy"] = p.Validation, ["pruned"] = p.Pruned,
                }).ToArray()),
                ["policy_name"] = s.PolicyName,
                ["selection"] = JsonSerializer.SerializeToNode(s.Selection, ReportJson.Options),
                ["stop_reason"] = s.StopReason,
            },
            ["tensors"] = FixtureValues.Tensors(checkpoint.Tensors),
        };
    }

    private static void WriteSessionCheckpoint(string folder, string commit)
    {
        const string name = "session.ckpt";
        manual_seed(7);
        using var run = new FixtureSession();
        for (var step = 1; step <= FixtureSession.CapturedAfter; step++)
        {
            run.Step(step);
            if (step == FixtureSession.EvaluatedAfter) Assert.True(run.Session.Evaluate(0.8, 0.5).Pruned, "the evaluation should crop");
        }
        using (var captured = run.Session.Capture()) captured.Save(Path.Combine(folder, name));
        using var checkpoint = SessionCheckpoint.Load(Path.Combine(folder, name));
        using var output = run.Output();
        var summary = SessionSummary(checkpoint);
        summary["session"] = SessionState(run.Session, output);
        Record(folder, name, commit, "PruningSession.Capture().Save of FixtureSession (the user model, seed 7, under magnitude pruning with "
            + "crop 30 %, TorchSharp's Adam at 1e-2) after 12 steps of FixtureModels.SessionBatch, evaluated (0.8, loss 0.5) after step 6; "
            + "session: what that session reported at capture, output in eval mode on FixtureModels.UserInput()", summary);
    }

    /// <summary>What a session checkpoint holds, as recorded and as checked.</summary>
    internal static JsonObject SessionSummary(SessionCheckpoint checkpoint) => new()
    {
        ["state"] = checkpoint.State.DeepClone(),
        ["tensors"] = FixtureValues.Tensors(checkpoint.Tensors),
    };

    /// <summary>A session's step, remaining fraction, selected step and model output.</summary>
    internal static JsonObject SessionState(PruningSession session, Tensor output) => new()
    {
        ["step"] = session.Step,
        ["remaining"] = session.Remaining,
        ["selected_step"] = session.Selected?.Step,
        ["output"] = FixtureValues.Values(output),
    };

    private static void Record(string folder, string name, string commit, string holds, JsonObject values)
    {
        var expected = new JsonObject
        {
            ["file"] = name,
            ["format_version"] = FixtureValues.FormatVersion(Path.Combine(folder, name)),
            ["written_by"] = commit,
            ["holds"] = holds,
        };
        foreach (var (key, value) in values.ToList())
        {
            values.Remove(key);
            expected[key] = value;
        }
        File.WriteAllText(Path.Combine(folder, name + ".expected.json"), expected.ToJsonString(FixtureValues.Indented) + "\n");
    }

    // The fixtures stand for what the library of one commit wrote: the last commit that changed src/, which must be clean.
    private static string SourceCommit()
    {
        string Git(params string[] args)
        {
            var info = new ProcessStartInfo("git") { WorkingDirectory = Repository.Root, RedirectStandardOutput = true };
            foreach (var a in args) info.ArgumentList.Add(a);
            using var git = Process.Start(info)!;
            var text = git.StandardOutput.ReadToEnd().Trim();
            git.WaitForExit();
            return text;
        }
        Assert.True(Git("status", "--porcelain", "--", "src") == "", "src/ has uncommitted changes: the fixtures would stand for no commit");
        return Git("log", "-1", "--format=%h", "--", "src");
    }
}
