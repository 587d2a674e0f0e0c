using Topiary.Tests.Support;
using Topiary.Training;

namespace Topiary.Tests.Checkpoints;

public class CheckpointWriterTests
{
    private static readonly string Fixtures = Path.Combine(AppContext.BaseDirectory, "Checkpoints", "Data");

    /// <summary>
    /// The writer's thread must not touch libtorch: TorchSharp calls there, concurrent with training, corrupted the
    /// training thread's scalars. So a submitted checkpoint is encoded before Submit returns, and the caller may
    /// dispose it at once (the training loop keeps it for rollbacks).
    /// </summary>
    [Fact]
    public void A_submitted_checkpoint_is_encoded_on_the_calling_thread_and_written_whole_after_it_is_freed()
    {
        using var dir = new TestDirectory();
        using var original = TrainingCheckpoint.Load(Path.Combine(Fixtures, "checkpoint-v1.ckpt"));
        var copy = TrainingCheckpoint.Decode("copy", original.Encode());
        using (var writer = new CheckpointWriter())
        {
            writer.Submit(copy, dir.File("last.ckpt"), dir.File("best.ckpt"));
            copy.Dispose();
            Assert.All(copy.Tensors.Values, t => Assert.True(t.IsInvalid));
            writer.Flush();
        }
        foreach (var file in new[] { "last.ckpt", "best.ckpt" })
        {
            using var back = TrainingCheckpoint.Load(dir.File(file));
            Assert.Equal(original.State.Step, back.State.Step);
            Assert.Equal(original.Tensors.Keys.Order(), back.Tensors.Keys.Order());
            foreach (var (name, tensor) in original.Tensors)
                Assert.True(TensorAssert.BitEqual(tensor, back.Tensors[name]), name);
        }
    }
}
