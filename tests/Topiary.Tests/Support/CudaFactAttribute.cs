namespace Topiary.Tests.Support;

/// <summary>A fact that needs a CUDA device; skipped, and says why, where libtorch sees none (TorchSharp-cpu, or no GPU).</summary>
internal sealed class CudaFactAttribute : FactAttribute
{
    public CudaFactAttribute()
    {
        if (!TorchSharp.torch.cuda.is_available())
            Skip = "no CUDA device: this machine has no GPU or the tests run on TorchSharp-cpu; run with a CUDA build of TorchSharp on a GPU to cover it";
    }
}
