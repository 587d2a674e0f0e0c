namespace Topiary.Inference;

/// <summary>
/// When a weighted layer runs on Topiary's sparse kernels rather than on libtorch's dense ones: at most
/// <see cref="MaxDensity"/> non-zeros for batches of at most <see cref="MaxBatch"/> samples. Dense BLAS gets
/// relatively faster as the batch grows, so the crossover density falls with it.
/// </summary>
/// <param name="MaxBatch">Largest batch this entry covers.</param>
/// <param name="MaxDensity">Largest weight density (non-zeros / entries) that still runs sparse.</param>
public sealed record SparseCrossover(int MaxBatch, double MaxDensity)
{
    /// <summary>
    /// Slightly below the crossovers that <c>topiary-bench crossover</c> measured for a 300×784 layer on a 2-core
    /// x86-64 machine with AVX2 (libtorch 2.10, one thread): sparse was faster up to about 30% density at batch 1,
    /// 10% at batch 8, 30% at batch 32 and 20–30% at batch 256 (the machine was loaded, so these are rough).
    /// <see cref="SparseInferenceModel.Calibrate"/> measures the machine at hand instead.
    /// </summary>
    public static IReadOnlyList<SparseCrossover> Default { get; } = new[]
    {
        new SparseCrossover(1, 0.25),
        new SparseCrossover(16, 0.10),
        new SparseCrossover(64, 0.20),
        new SparseCrossover(int.MaxValue, 0.15),
    };

    /// <summary>Whether a layer of the given density should run sparse at the given batch size.</summary>
    public static bool PrefersSparse(IReadOnlyList<SparseCrossover> table, int batch, double density) =>
        density <= table.First(c => batch <= c.MaxBatch || c == table[^1]).MaxDensity;
}
