using System.Text.Json;
using Topiary.Experiments;
using Topiary.Reporting;
using Topiary.Backend;
using Topiary.Checkpoints;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Support;

/// <summary>Resuming a finished <see cref="TinyPoolNet"/> run on <see cref="TinyData"/> from a checkpoint of it (committed fixtures are such runs).</summary>
internal static class TinyRunResume
{
    /// <summary>
    /// Resumes the run with the checkpoint's own options (recorded in the flat layout of Topiary 0.1.0) from a model of another seed, and asserts that it ends with the
    /// checkpoint's trajectory, selection and selected model.
    /// </summary>
    public static void AssertEndsAsRecorded(TrainingCheckpoint checkpoint)
    {
        TorchBackend.EnsureVerified();
        using var threads = TorchThreads.Use(1);
        using var data = TinyData.Split();
        manual_seed(99);
        using var model = new TinyPoolNet();
        var options = PruningOptionsV1.ToOptions(checkpoint.State.Options!);
        var outcome = PruningMethods.Loop(model, new ImageClassificationTask(data), options, checkpoints: new CheckpointOptions { ResumeFrom = checkpoint }).Run();
        Assert.Equal(checkpoint.State.Trajectory, outcome.Trajectory);
        Assert.Equal(checkpoint.State.Selection.Step, outcome.SelectedStep);
        // The run ends in the selected model, which comes from the file, not from seed 99.
        foreach (var (name, parameter) in model.named_parameters())
            Assert.True(TensorAssert.BitEqual(checkpoint.Tensors[$"best/model/{name}"], parameter), name);
    }
}
