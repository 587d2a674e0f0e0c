using Topiary.Data;

namespace Topiary.Tests.Support;

/// <summary>A small synthetic image set (generated once per process) for training-loop tests.</summary>
internal static class TinyData
{
    private static readonly Lazy<IdxDataset> Dataset = new(() =>
    {
        var directory = Path.Combine(Path.GetTempPath(), "topiary-tests-tinydata-" + Environment.ProcessId);
        SyntheticIdx.Write(directory, trainCount: 1200, testCount: 300);
        return IdxReader.LoadDataset(directory);
    });

    public static IdxDataset Idx => Dataset.Value;

    public static ImageClassificationData Split(int seed = 1, int? subset = null) => ImageClassificationData.From(Idx, seed, subset);
}
