namespace Topiary.Inference;

/// <summary>One weighted layer timed both ways at a batch size (ms per call, medians of <see cref="InterleavedTiming"/>).</summary>
/// <param name="Name">The layer's name.</param>
/// <param name="SparseMilliseconds">Topiary's sparse kernel.</param>
/// <param name="DenseMilliseconds">libtorch's dense operator.</param>
public sealed record LayerTiming(string Name, double SparseMilliseconds, double DenseMilliseconds);

/// <summary>A whole forward call on one engine at a batch size (ms per call).</summary>
/// <param name="Engine">The engine.</param>
/// <param name="Threads">The threads it was given (ONNX Runtime's intra-op threads; Topiary's and libtorch's thread count).</param>
/// <param name="Milliseconds">Median time per call.</param>
public sealed record EngineTiming(InferenceEngine Engine, int Threads, double Milliseconds);

/// <summary>
/// What <see cref="SparseInferenceModel.Calibrate"/> measured at one batch size: every weighted layer sparse against
/// dense, then whole calls of Topiary's plan (built from the layer timings) and of each dense engine.
/// <see cref="CalibrationDecision.Choose"/> turns it into a <see cref="CalibrationChoice"/>, the same one every time.
/// </summary>
/// <param name="Batch">The batch size.</param>
/// <param name="Layers">The weighted layers in network order.</param>
/// <param name="Engines">Whole-network timings; the Topiary entry is absent when no layer runs sparse (it would be libtorch).</param>
public sealed record CalibrationTimings(int Batch, IReadOnlyList<LayerTiming> Layers, IReadOnlyList<EngineTiming> Engines);

/// <summary>What runs at one batch size: the engine and, for <see cref="InferenceEngine.Topiary"/>, which layers run sparse.</summary>
/// <param name="Batch">The batch size.</param>
/// <param name="Engine">The engine of the whole call.</param>
/// <param name="Threads">Its threads (for ONNX Runtime, which of the sessions).</param>
/// <param name="SparseLayers">Per weighted layer in network order, whether it runs sparse (all false unless the engine is Topiary).</param>
public sealed record CalibrationChoice(int Batch, InferenceEngine Engine, int Threads, IReadOnlyList<bool> SparseLayers);
