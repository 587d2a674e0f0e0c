using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Inference;
using Topiary.Language;
using Topiary.Models;
using Topiary.Serialization;
using Topiary.Tests.Support;
using Topiary.Training;
using static TorchSharp.torch;
using Topiary.Experiments;
using Topiary.Reporting;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// Files written by Topiary 0.1.0 (<c>Fixtures/v0.1.0</c>, see its README) still load with today's API, to the values
/// recorded when they were written: parameters, buffers, masks, non-zero counts and checkpoint state exactly, outputs on
/// a fixed input within <see cref="FixtureValues.OutputTolerance"/>. Every file carries a format version that its loader
/// checks: a newer one is refused by name.
/// </summary>
public class FormatCompatibilityTests
{
    private static readonly string[] HeaderKeys = ["file", "format_version", "written_by", "holds"];

    static FormatCompatibilityTests()
    {
        if (!ModelArchitectures.IsRegistered(FixtureModels.UserArchitecture))
            ModelArchitectures.Register(FixtureModels.UserArchitecture, FixtureModels.UserModelFromConfig);
    }

    /// <summary>Compares what today's code read from <paramref name="name"/> with what was recorded when it was written.</summary>
    private static void AssertAsRecorded(string name, JsonObject actual)
    {
        var expected = JsonNode.Parse(File.ReadAllText(FixtureModels.File(name + ".expected.json")))!.AsObject();
        Assert.Equal(expected.Select(p => p.Key).Except(HeaderKeys), actual.Select(p => p.Key));
        Assert.Equal(expected["format_version"]!.GetValue<int>(), FixtureValues.FormatVersion(FixtureModels.File(name)));
        // Through text, as the recorded values went, so that numbers compare as numbers whatever CLR type built them.
        foreach (var (key, value) in JsonNode.Parse(actual.ToJsonString())!.AsObject())
            FixtureValues.AssertMatches(expected[key], value, key == "output" ? FixtureValues.OutputTolerance : FixtureValues.StoredTolerance, $"{name}: {key}");
    }

    private static JsonObject ModelSummary(LoadedModel loaded, Tensor input, JsonObject extra)
    {
        loaded.ApplyMasks();
        loaded.Model.eval();
        Tensor output;
        using (no_grad()) output = loaded.Model.forward(input);
        using var _ = output;
        var summary = new JsonObject { ["architecture"] = loaded.Architecture };
        foreach (var (key, value) in extra.ToList())
        {
            extra.Remove(key);
            summary[key] = value;
        }
        summary["metadata"] = loaded.Metadata.DeepClone();
        summary["state"] = FixtureValues.Tensors(loaded.Model.state_dict());
        summary["masks"] = FixtureValues.Masks(loaded.Masks);
        summary["output"] = FixtureValues.Values(output);
        return summary;
    }

    [Fact]
    public void A_user_model_file_of_0_1_0_loads_by_name_and_into_a_fresh_module_with_its_values_and_outputs()
    {
        const string name = "user-model.topiary";
        var path = FixtureModels.File(name);
        using var input = FixtureModels.UserInput();
        manual_seed(99);
        var byName = ModelFile.Load(path);
        var into = ModelFile.LoadInto(path, FixtureModels.UserModel());
        foreach (var loaded in new[] { byName, into })
        {
            using var model = loaded.Model;
            AssertAsRecorded(name, ModelSummary(loaded, input, new JsonObject { ["config"] = loaded.ArchitectureConfig?.DeepClone() }));
            foreach (var mask in loaded.Masks.Values) mask.Dispose();
        }
    }

    [Fact]
    public void The_catalogue_language_model_file_of_0_1_0_loads_with_its_vocabulary_and_logits()
    {
        const string name = "transformer-lm.topiary";
        var path = FixtureModels.File(name);
        using var input = FixtureModels.TokenInput();
        var loaded = ModelFile.Load(path);
        using var model = Assert.IsType<TransformerLanguageModel>(loaded.Model);
        Assert.Equal(FixtureModels.LanguageModelConfig, model.Config);
        var tokenizer = LanguageModelFile.Tokenizer(path, loaded);
        AssertAsRecorded(name, ModelSummary(loaded, input, new JsonObject { ["vocabulary"] = tokenizer.Vocabulary }));
    }

    [Theory]
    [InlineData("sparse.tsparse")]
    [InlineData("sparse-half.tsparse")]
    public void A_sparse_file_of_0_1_0_loads_to_the_same_network_and_outputs(string name)
    {
        var loaded = SparseModelFile.Load(FixtureModels.File(name));
        AssertAsRecorded(name, FixtureWriter.SparseSummary(loaded, loaded.Metadata));
        // The network is the one it was written from (float16 rounds its values).
        var written = FixtureModels.SparseNetwork();
        Assert.Equal(written.Shapes(), loaded.Network.Shapes());
        foreach (var (w, l) in written.Parameters().Zip(loaded.Network.Parameters()))
        {
            Assert.Equal(w.Name, l.Name);
            var rounded = loaded.HalfPrecision ? w.Values.Select(v => (float)(Half)v) : w.Values;
            Assert.Equal(rounded.Select(BitConverter.SingleToInt32Bits), l.Values.Select(BitConverter.SingleToInt32Bits));
        }
    }

    [Fact]
    public void The_training_checkpoint_of_0_1_0_loads_its_state_and_tensors_and_resumes_the_run_that_wrote_it()
    {
        const string name = "training.ckpt";
        using var checkpoint = TrainingCheckpoint.Load(FixtureModels.File(name));
        AssertAsRecorded(name, FixtureWriter.TrainingSummary(checkpoint));
        // 0.1.0 recorded the settings in the flat layout of its day; they read as today's options for the same run.
        Assert.True(PruningOptionsV1.Holds(checkpoint.State.Options!));
        Assert.Equal(FixtureWriter.TrainingOptions.Describe().ToJsonString(), PruningOptionsV1.ToOptions(checkpoint.State.Options!).Describe().ToJsonString());
        Assert.Contains(checkpoint.State.Trajectory, p => p.Pruned);

        TinyRunResume.AssertEndsAsRecorded(checkpoint);
    }

    [Fact]
    public void The_session_checkpoint_of_0_1_0_restores_a_session_built_the_same_way_which_then_trains_on()
    {
        const string name = "session.ckpt";
        var expected = JsonNode.Parse(File.ReadAllText(FixtureModels.File(name + ".expected.json")))!.AsObject();
        using var checkpoint = SessionCheckpoint.Load(FixtureModels.File(name));
        manual_seed(99);
        using var run = new FixtureSession();
        run.Session.Restore(checkpoint);
        using (var output = run.Output())
        {
            var summary = FixtureWriter.SessionSummary(checkpoint);
            summary["session"] = FixtureWriter.SessionState(run.Session, output);
            AssertAsRecorded(name, summary);
        }
        Assert.Equal(FixtureSession.CapturedAfter, expected["session"]!["step"]!.GetValue<long>());
        run.Step(FixtureSession.CapturedAfter + 1);
        Assert.Equal(FixtureSession.CapturedAfter + 1, run.Session.Step);
        foreach (var e in run.Session.Masks.Entries)
            Assert.True(e.Parameter.masked_select(e.Mask.eq(0)).eq(0).all().item<bool>(), $"{e.Name} has a non-zero pruned entry");
    }

    /// <summary>Every format fixture in the repository, of every version: (path from the test binaries, format version).</summary>
    public static TheoryData<string, int> EveryFixture() => new()
    {
        { "Fixtures/v0.1.0/user-model.topiary", 2 },
        { "Fixtures/v0.1.0/transformer-lm.topiary", 2 },
        { "Fixtures/v0.1.0/sparse.tsparse", 2 },
        { "Fixtures/v0.1.0/sparse-half.tsparse", 2 },
        { "Fixtures/v0.1.0/training.ckpt", 2 },
        { "Fixtures/v0.1.0/session.ckpt", 2 },
        { "Serialization/Data/lenet5-v1.topiary", 1 },
        { "Serialization/Data/transformer-lm-v1.topiary", 1 },
        { "Deployment/Fixtures/sparse-v1.tsparse", 1 },
        { "Checkpoints/Data/checkpoint-v1.ckpt", 1 },
    };

    [Theory]
    [MemberData(nameof(EveryFixture))]
    public void Every_fixture_carries_its_format_version_and_loads_with_todays_loader(string file, int version)
    {
        var path = Path.Combine(AppContext.BaseDirectory, file);
        Assert.Equal(version, FixtureValues.FormatVersion(path));
        Load(path);
    }

    [Theory]
    [MemberData(nameof(EveryFixture))]
    public void A_file_claiming_a_future_format_version_is_refused_naming_the_file_and_the_version(string file, int version)
    {
        _ = version;
        using var dir = new TestDirectory();
        var bytes = File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, file));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), 99);
        var path = dir.File("from-the-future" + Path.GetExtension(file));
        File.WriteAllBytes(path, bytes);
        var error = Assert.ThrowsAny<Exception>(() => Load(path));
        Assert.True(error is ModelFileException or CheckpointException, $"{error.GetType().Name}: {error.Message}");
        Assert.StartsWith(path + ": ", error.Message);
        Assert.Contains("format version 99 is not supported", error.Message);
    }

    // The loader of each kind of file, as a user calls it.
    private static void Load(string path)
    {
        switch (Path.GetExtension(path))
        {
            case ".topiary":
                var loaded = ModelFile.Load(path);
                loaded.Model.Dispose();
                foreach (var mask in loaded.Masks.Values) mask.Dispose();
                break;
            case ".tsparse":
                SparseModelFile.Load(path);
                break;
            case ".ckpt":
                CheckpointFile.Read(path).Tensors.Values.ToList().ForEach(t => t.Dispose());
                break;
            default:
                throw new ArgumentException($"no loader for {path}");
        }
    }
}
