using Microsoft.ML.OnnxRuntime;
using TensorElementType = Microsoft.ML.OnnxRuntime.Tensors.TensorElementType;
using static TorchSharp.torch;

namespace Topiary.Inference;

/// <summary>
/// A <see cref="SequentialNetwork"/> run densely by ONNX Runtime on the CPU, from the model <see cref="OnnxExporter"/>
/// writes (built in memory; nothing is written to disk). It is the dense engine .NET users deploy with, so it is both
/// what <c>topiary-bench inference</c> measures Topiary against and the whole-network fallback that
/// <see cref="SparseInferenceModel.Calibrate"/> chooses where it is faster than Topiary's plan and libtorch.
/// Inputs and outputs are bound in place (no copies by this class); calls may run concurrently (ONNX Runtime's
/// <c>Run</c> is thread-safe).
/// </summary>
public sealed class OnnxRuntimeNetwork : IDisposable
{
    private static readonly string[] InputNames = { "input" };
    private static readonly string[] OutputNames = { "output" };
    private readonly InferenceSession session;
    private readonly RunOptions options = new();
    private readonly long outputSize;

    /// <summary>Builds an ONNX Runtime session for the network.</summary>
    /// <param name="network">The network (its weights are copied into the session).</param>
    /// <param name="intraOpThreads">Threads ONNX Runtime may use inside one operator (at least 1).</param>
    public OnnxRuntimeNetwork(SequentialNetwork network, int intraOpThreads = 1) : this(network, OnnxExporter.Encode(network), intraOpThreads)
    {
    }

    /// <summary>
    /// Builds an ONNX Runtime session for an ONNX model of <paramref name="network"/> that another exporter wrote, such as
    /// the quantized model of <see cref="QdqOnnxExporter"/>; <paramref name="network"/> gives the input and output shapes.
    /// </summary>
    /// <param name="network">The network the model computes (or approximates, when quantized).</param>
    /// <param name="onnxModel">The serialized ModelProto, with the input "input" and the output "output".</param>
    /// <param name="intraOpThreads">Threads ONNX Runtime may use inside one operator (at least 1).</param>
    public OnnxRuntimeNetwork(SequentialNetwork network, byte[] onnxModel, int intraOpThreads = 1)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(onnxModel);
        ArgumentOutOfRangeException.ThrowIfLessThan(intraOpThreads, 1);
        Network = network;
        IntraOpThreads = intraOpThreads;
        outputSize = network.OutputShape.Size;
        using var sessionOptions = new SessionOptions
        {
            IntraOpNumThreads = intraOpThreads,
            InterOpNumThreads = 1,
            ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // Fatal only: ONNX Runtime's log goes to the console, which a library must not write to; errors come back as exceptions.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL,
        };
        // One thread: no spinning helpers that would take the core from Topiary's kernels or the caller.
        if (intraOpThreads == 1) sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        session = new InferenceSession(onnxModel, sessionOptions);
    }

    /// <summary>The network this session runs.</summary>
    public SequentialNetwork Network { get; }

    /// <summary>The intra-op thread count the session was built with.</summary>
    public int IntraOpThreads { get; }

    /// <summary>Runs the network on managed memory: input [batch × C·H·W], output [batch × outputs].</summary>
    public unsafe void Forward(ReadOnlySpan<float> input, Span<float> output, int batch)
    {
        var shape = Network.InputShape;
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        if (input.Length != batch * shape.Size || output.Length != batch * outputSize)
            throw new ArgumentException($"input or output length does not match a batch of {batch}");
        fixed (float* ip = input, op = output)
        {
            using var inputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                new long[] { batch, shape.Channels, shape.Height, shape.Width }, (nint)ip, (long)input.Length * sizeof(float));
            using var outputValue = OrtValue.CreateTensorValueWithData(OrtMemoryInfo.DefaultInstance, TensorElementType.Float,
                OutputShape(batch), (nint)op, (long)output.Length * sizeof(float));
            session.Run(options, InputNames, new[] { inputValue }, OutputNames, new[] { outputValue });
        }
    }

    /// <summary>
    /// Runs the network on a batch: <paramref name="input"/> is [batch, C, H, W] or anything with that many values per
    /// sample; the result is [batch, outputs]. A contiguous float32 CPU input is read where it lies; any other is copied first.
    /// </summary>
    public Tensor Forward(Tensor input)
    {
        var ready = input.dtype == float32 && input.device_type == TorchSharp.DeviceType.CPU && input.is_contiguous();
        var source = ready ? input : input.detach().to(float32).cpu().contiguous();
        try
        {
            var count = source.numel();
            var size = Network.InputShape.Size;
            if (count == 0 || count % size != 0)
                throw new ArgumentException($"input of {count} values is not a whole number of samples of {size}", nameof(input));
            var batch = checked((int)(count / size));
            var output = empty(batch, outputSize);
            try
            {
                Forward(NativeFloats.OfKnown(source, checked((int)count)), NativeFloats.OfKnown(output, checked((int)(batch * outputSize))), batch);
            }
            catch
            {
                output.Dispose();
                throw;
            }
            return output;
        }
        finally
        {
            if (!ready) source.Dispose();
        }
    }

    private long[] OutputShape(int batch)
    {
        var shape = Network.OutputShape;
        return shape.Flat ? new long[] { batch, shape.Channels } : new long[] { batch, shape.Channels, shape.Height, shape.Width };
    }

    /// <inheritdoc />
    public void Dispose()
    {
        session.Dispose();
        options.Dispose();
    }
}
