namespace Topiary.Inference;

/// <summary>What runs a whole forward call of a <see cref="SparseInferenceModel"/> at one batch size.</summary>
public enum InferenceEngine
{
    /// <summary>Topiary's sparse kernels, with libtorch's dense operator for the layers calibration left dense.</summary>
    Topiary,
    /// <summary>libtorch's dense operators for every layer (the operators of <see cref="TorchNetwork"/>).</summary>
    LibTorch,
    /// <summary>ONNX Runtime on the exported network (<see cref="OnnxRuntimeNetwork"/>), dense.</summary>
    OnnxRuntime,
}
