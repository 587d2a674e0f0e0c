namespace Topiary.Reporting;

/// <summary>
/// What a quantized export of a pruned image classifier measured (<c>prune --quantize</c>): the float pruned model, the
/// same model with fake-quantized weights, the int8 sparse file run by Topiary's sparse inference, and the ONNX QDQ model
/// run by ONNX Runtime, each on the same validation and test images; and the sizes of the float32 and int8 sparse files.
/// </summary>
/// <param name="Scheme">The weight grid, e.g. "int8 per channel".</param>
/// <param name="Bits">Bits per weight level.</param>
/// <param name="FloatValidation">Validation accuracy of the float pruned model.</param>
/// <param name="FloatTest">Test accuracy of the float pruned model.</param>
/// <param name="QuantizedValidation">Validation accuracy with the weights fake-quantized (libtorch, float activations).</param>
/// <param name="QuantizedTest">Test accuracy with the weights fake-quantized.</param>
/// <param name="SparseFileTest">Test accuracy of the int8 sparse file, loaded and run by Topiary's sparse inference.</param>
/// <param name="FloatSparseBytes">Size of the float32 sparse file.</param>
/// <param name="QuantizedSparseBytes">Size of the int8 sparse file.</param>
/// <param name="IndexBytes">Bytes the int8 file spends on positions (CSR row pointers and column indices, bitmasks).</param>
/// <param name="IndexEntropyBytes">The entropy bound of the same positions' gaps (<c>IndexEntropy</c>): what coding them could reach.</param>
/// <param name="OnnxBytes">Size of the ONNX QDQ model, or null when none was written.</param>
/// <param name="OnnxTest">Test accuracy of the ONNX QDQ model under ONNX Runtime (int8 activations as calibrated), or null.</param>
/// <param name="CalibrationImages">Training images the activation ranges were observed on (0 without an ONNX export).</param>
public sealed record QuantizationSummary(string Scheme, int Bits, double FloatValidation, double FloatTest, double QuantizedValidation, double QuantizedTest,
    double SparseFileTest, long FloatSparseBytes, long QuantizedSparseBytes, long IndexBytes, double IndexEntropyBytes, long? OnnxBytes, double? OnnxTest,
    int CalibrationImages);
