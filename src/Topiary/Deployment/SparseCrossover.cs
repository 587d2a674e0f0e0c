namespace Topiary.Deployment;

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
    /// Crossovers measured with <c>topiary-bench inference</c> on a 2-core x86-64 machine (AVX2, libtorch 2.10);
    /// <see cref="SparseInferenceModel.Calibrate"/> measures them for the machine at hand instead.
    /// </summary>
    public static IReadOnlyList<SparseCrossover> Default { get; } = new[]
    {
        new SparseCrossover(1, 0.40),
        new SparseCrossover(8, 0.25),
        new SparseCrossover(64, 0.15),
        new SparseCrossover(int.MaxValue, 0.10),
    };

    /// <summary>Whether a layer of the given density should run sparse at the given batch size.</summary>
    public static bool PrefersSparse(IReadOnlyList<SparseCrossover> table, int batch, double density) =>
        density <= table.First(c => batch <= c.MaxBatch || c == table[^1]).MaxDensity;
}
