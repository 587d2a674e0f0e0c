namespace Topiary.Inference;

/// <summary>
/// Runs a range of a <see cref="SparseInferenceModel"/>'s steps on Topiary's kernels, from row-major activations
/// in <c>source</c> (read in place, never written: it may be the caller's tensor) to row-major activations in
/// <c>destination</c> (written in place: it may be the output tensor's storage), with two scratch buffers in
/// between that are kept from call to call. The last step that writes writes straight into the destination when
/// its output is row-major; ReLUs run in place, a flatten not at all; activations are transposed only where a
/// step needs the other layout. Thread-safe: each call takes a pair of scratch buffers from a pool and gives it back,
/// so concurrent callers never share activations and a server's threads reuse as many pairs as run at once.
/// </summary>
internal sealed class KernelPass(List<InferenceStage> stages, long maxActivation)
{
    private enum Place
    {
        Source,
        Front,
        Back,
        Destination,
    }

    /// <summary>Two activation buffers for one call at a time.</summary>
    private sealed class Scratch
    {
        public float[] Front = Array.Empty<float>(), Back = Array.Empty<float>();
    }

    // ConcurrentBag keeps a list per thread, so a thread that calls again takes back its own pair without contention.
    private readonly System.Collections.Concurrent.ConcurrentBag<Scratch> pool = new();

    /// <summary>Runs steps [<paramref name="first"/>, <paramref name="end"/>) on <paramref name="batch"/> samples.</summary>
    public void Run(int first, int end, ReadOnlySpan<float> source, Span<float> destination, int batch)
    {
        if (source.Overlaps(destination)) throw new ArgumentException("the input and output memory overlap");
        if (!pool.TryTake(out var scratch)) scratch = new Scratch();
        try
        {
            Run(first, end, source, destination, batch, scratch);
        }
        finally
        {
            pool.Add(scratch);
        }
    }

    private void Run(int first, int end, ReadOnlySpan<float> source, Span<float> destination, int batch, Scratch scratch)
    {
        var activations = checked((int)(batch * maxActivation));
        if (scratch.Front.Length < activations) (scratch.Front, scratch.Back) = (new float[activations], new float[activations]);
        Span<float> a = scratch.Front, b = scratch.Back;
        var at = Place.Source;
        var layout = ActivationLayout.RowMajor;
        var features = stages[first].Input.Size;
        for (var i = first; i < end; i++)
        {
            var stage = stages[i];
            var wanted = stage.Wants(batch);
            if (batch > 1 && wanted != ActivationLayout.Any && wanted != layout)
            {
                var to = at == Place.Front ? Place.Back : Place.Front;
                Relayout(at == Place.Source ? source : Pick(at, a, b, destination), Pick(to, a, b, destination), batch, features, layout);
                (at, layout) = (to, wanted);
            }
            switch (stage.Effect)
            {
                case StageEffect.InPlace when at != Place.Source:
                    stage.RunInPlace(Pick(at, a, b, destination), batch);
                    break;
                case StageEffect.InPlace or StageEffect.Writes:
                    var target = stage.Effect == StageEffect.Writes && WritesLast(i, end, batch, layout) ? Place.Destination
                        : at == Place.Front ? Place.Back : Place.Front;
                    stage.Run(at == Place.Source ? source : Pick(at, a, b, destination), Pick(target, a, b, destination), batch);
                    at = target;
                    break;
            }
            features = stage.Output.Size;
        }
        if (at == Place.Destination) return;
        var current = at == Place.Source ? source : Pick(at, a, b, destination);
        if (batch > 1 && layout == ActivationLayout.FeatureMajor) Relayout(current, destination, batch, features, layout);
        else current[..checked((int)(batch * features))].CopyTo(destination);
    }

    /// <summary>
    /// Whether step <paramref name="index"/>, producing <paramref name="layout"/>, can write into the destination:
    /// its output is row-major and the steps after it neither write nor need the activations transposed.
    /// </summary>
    private bool WritesLast(int index, int end, int batch, ActivationLayout layout)
    {
        if (batch > 1 && layout != ActivationLayout.RowMajor) return false;
        for (var j = index + 1; j < end; j++)
        {
            if (stages[j].Effect == StageEffect.Writes) return false;
            var wanted = stages[j].Wants(batch);
            if (batch > 1 && wanted != ActivationLayout.Any && wanted != layout) return false;
        }
        return true;
    }

    private static Span<float> Pick(Place place, Span<float> front, Span<float> back, Span<float> destination) =>
        place switch
        {
            Place.Front => front,
            Place.Back => back,
            _ => destination,
        };

    private static void Relayout(ReadOnlySpan<float> source, Span<float> target, int batch, long features, ActivationLayout from)
    {
        var size = checked((int)features);
        if (from == ActivationLayout.FeatureMajor) SparseLinearKernel.Transpose(source, target, size, batch);
        else SparseLinearKernel.Transpose(source, target, batch, size);
    }
}
