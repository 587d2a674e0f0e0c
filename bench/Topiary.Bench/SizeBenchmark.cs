using System.Globalization;
using Topiary.Inference;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Serialization;
using static TorchSharp.torch;

namespace Topiary.Bench;

/// <summary>
/// File sizes of pruned models: <c>model.topiary</c> (dense float32 + mask bits) against the sparse file in
/// float32 and float16, for LeNet-300-100 and LeNet-5 pruned by global magnitude (weights and biases) at
/// 90/95/98/99% sparsity, plus the largest float16 rounding error.
/// </summary>
internal static class SizeBenchmark
{
    public static int Run()
    {
        var directory = Directory.CreateTempSubdirectory("topiary-size-");
        try
        {
            Console.WriteLine($"{"model",-10} {"sparsity",8} {"model.topiary",14} {"sparse f32",11} {"ratio",7} {"sparse f16",11} {"ratio",7} {"f16 max error",14}  layouts");
            foreach (var architecture in new[] { "lenet300", "lenet5" })
                foreach (var sparsity in new[] { 0.90, 0.95, 0.98, 0.99 })
                {
                    manual_seed(7);
                    using var model = ModelCatalog.Create(architecture);
                    using var masks = new PruningMasks(ParameterSelector.Select(model, ParameterScope.WeightsAndBiases));
                    GlobalMagnitudePruner.PruneCount(masks, (long)Math.Round(sparsity * masks.Total));
                    var dense = Path.Combine(directory.FullName, "model.topiary");
                    ModelFile.Save(dense, architecture, 28, 10, model, masks);
                    var network = CatalogNetworks.FromModel(architecture, 28, model);
                    var f32 = Path.Combine(directory.FullName, "f32.tsparse");
                    var f16 = Path.Combine(directory.FullName, "f16.tsparse");
                    var stored = SparseModelFile.Save(f32, network, architecture);
                    SparseModelFile.Save(f16, network, architecture, half: true);
                    var error = network.Parameters().SelectMany(p => p.Values).Max(v => Math.Abs(v - (float)(Half)v));
                    long d = new FileInfo(dense).Length, s32 = new FileInfo(f32).Length, s16 = new FileInfo(f16).Length;
                    var layouts = string.Join(" ", stored.Where(t => t.Name.EndsWith(".weight", StringComparison.Ordinal)).Select(t => $"{t.Name.Split('.')[0]}:{t.Layout.ToString().ToLowerInvariant()}"));
                    Console.WriteLine($"{architecture,-10} {F(sparsity * 100, "F0") + "%",8} {N(d),14} {N(s32),11} {F(100.0 * s32 / d) + "%",7} {N(s16),11} {F(100.0 * s16 / d) + "%",7} {F(error, "E2"),14}  {layouts}");
                }
            return 0;
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    private static string F(double value, string format = "F2") => value.ToString(format, CultureInfo.InvariantCulture);
}
