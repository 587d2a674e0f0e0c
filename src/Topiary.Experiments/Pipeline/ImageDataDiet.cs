using Topiary.Data;
using Topiary.DataSelection;
using Topiary.Models;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary><see cref="DataDiet"/> on an image split: its scoring runs are catalogue models trained as a dense phase is.</summary>
public static class ImageDataDiet
{
    /// <summary>
    /// The training examples of <paramref name="data"/> that <paramref name="diet"/> keeps: each scoring run k trains a
    /// fresh <paramref name="architecture"/> for the diet's epochs with <paramref name="training"/>'s optimizer and batch
    /// size, from a seed derived from (<paramref name="training"/>.Seed, k), so that the same seed keeps the same examples.
    /// </summary>
    public static int[] Kept(ImageClassificationData data, string architecture, DataDiet diet, PruningOptions training)
    {
        diet.Validated();
        var task = new ImageClassificationTask(data);
        var scores = diet.MeanScores(run =>
        {
            var seed = unchecked(training.Seed * 1_000_003 + 7_919 * (run + 1));
            manual_seed(seed);
            var model = ModelCatalog.Create(architecture, data.ImageSize, data.Classes);
            DenseTrainer.Train(model, task, training with { DenseEpochs = diet.Epochs, Seed = seed });
            return model;
        }, data.TrainImages, data.TrainLabels, task.Loss);
        return diet.Select(scores);
    }
}
