using static TorchSharp.torch;

namespace Topiary.Reporting;

/// <summary>A model's outputs over many inputs, batch by batch without gradients, on the CPU in float64 (for diagnostics such as <see cref="Calibration"/>).</summary>
public static class Predictions
{
    /// <summary>The logits of <paramref name="model"/> on <paramref name="inputs"/> (N × C), in the caller's dispose scope.</summary>
    public static Tensor Logits(nn.Module<Tensor, Tensor> model, Tensor inputs, int batchSize = 1000)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "batchSize must be ≥ 1");
        using var _ = no_grad();
        var parts = new List<Tensor>();
        for (long start = 0; start < inputs.shape[0]; start += batchSize)
            parts.Add(model.forward(inputs.narrow(0, start, Math.Min(batchSize, inputs.shape[0] - start))).detach().cpu().to(float64));
        return cat(parts, 0);
    }

    /// <summary>The softmax of <see cref="Logits"/>.</summary>
    public static Tensor Probabilities(nn.Module<Tensor, Tensor> model, Tensor inputs, int batchSize = 1000) =>
        nn.functional.softmax(Logits(model, inputs, batchSize), 1);
}
