namespace Topiary.Quantization;

/// <summary>Which weights share one quantization scale.</summary>
public enum QuantizationGranularity
{
    /// <summary>One scale per output unit: each row of a linear weight, each filter of a convolution kernel.</summary>
    PerChannel,

    /// <summary>One scale for the whole tensor.</summary>
    PerTensor,
}
