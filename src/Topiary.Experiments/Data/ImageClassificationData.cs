using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Data;

/// <summary>
/// An image classification set as normalized tensors: training, validation (held out from the
/// training images by the seed, as in Bonetta et al.'s Fashion-MNIST code) and test.
/// </summary>
public sealed class ImageClassificationData : IDisposable
{
    /// <summary>Validation images held out of the full training set, as the authors do.</summary>
    public const int DefaultValidationCount = 5000;

    private ImageClassificationData(string name, string directory, int imageSize, int classes, float pixelMean, float pixelStd,
        Tensor trainImages, Tensor trainLabels, Tensor valImages, Tensor valLabels, Tensor testImages, Tensor testLabels)
    {
        Name = name;
        Directory = directory;
        ImageSize = imageSize;
        Classes = classes;
        PixelMean = pixelMean;
        PixelStd = pixelStd;
        TrainImages = trainImages;
        TrainLabels = trainLabels;
        ValidationImages = valImages;
        ValidationLabels = valLabels;
        TestImages = testImages;
        TestLabels = testLabels;
    }

    /// <summary>Short name of the data set (the directory name).</summary>
    public string Name { get; }
    /// <summary>Where the IDX files came from.</summary>
    public string Directory { get; }
    /// <summary>Side of the square images.</summary>
    public int ImageSize { get; }
    /// <summary>Number of classes.</summary>
    public int Classes { get; }
    /// <summary>The mean of the training file's pixels in [0, 1], subtracted by the standardization.</summary>
    public float PixelMean { get; }
    /// <summary>The deviation of the training file's pixels in [0, 1], divided by the standardization.</summary>
    public float PixelStd { get; }
    /// <summary>Training images, shape (N, 1, S, S), float32, standardized.</summary>
    public Tensor TrainImages { get; }
    /// <summary>Training labels, int64.</summary>
    public Tensor TrainLabels { get; }
    /// <summary>Validation images.</summary>
    public Tensor ValidationImages { get; }
    /// <summary>Validation labels.</summary>
    public Tensor ValidationLabels { get; }
    /// <summary>Test images.</summary>
    public Tensor TestImages { get; }
    /// <summary>Test labels.</summary>
    public Tensor TestLabels { get; }

    /// <summary>Number of training examples after the hold-out.</summary>
    public int TrainCount => (int)TrainImages.shape[0];

    /// <summary>
    /// Splits and normalizes an IDX data set. <paramref name="subset"/> keeps only the first N
    /// training images (before the split); the validation set is <see cref="DefaultValidationCount"/>
    /// images, or a tenth of a smaller training set, drawn by <paramref name="seed"/>.
    /// Pixels are scaled to [0, 1] and standardized by the mean and deviation of the whole training
    /// file, so that a saved model can be evaluated later whatever split or subset trained it.
    /// </summary>
    public static ImageClassificationData From(IdxDataset dataset, int seed, int? subset = null, int classes = 10)
    {
        var images = dataset.Train.Images;
        if (images.Rows != images.Columns)
            throw new ArgumentException($"{dataset.Directory}: images are {images.Rows}×{images.Columns}; Topiary's models need square images");
        var available = images.Count;
        if (subset is { } s && (s < 20 || s > available))
            throw new ArgumentOutOfRangeException(nameof(subset), s, $"the subset must hold between 20 and {available} training images");
        var count = subset ?? available;
        var validationCount = count - TrainingCountOf(count);

        using var scope = NewDisposeScope();
        var full = PixelsToTensor(images.Pixels, available, images.Rows);
        var all = full.narrow(0, 0, count);
        var labels = tensor(dataset.Train.Labels, dtype: int64).narrow(0, 0, count);
        var order = randperm(count, generator: new Generator((ulong)seed));
        var valIndex = order.narrow(0, 0, validationCount);
        var trainIndex = order.narrow(0, validationCount, count - validationCount).sort().Values;

        var trainImages = all.index_select(0, trainIndex);
        var mean = full.mean().item<float>();
        var std = full.std().item<float>();
        Tensor Normalize(Tensor t) => t.sub(HeldScalar.Of(mean)).div_(HeldScalar.Of(std)).contiguous();

        var test = dataset.Test.Images;
        var result = new ImageClassificationData(
            Path.GetFileName(Path.TrimEndingDirectorySeparator(dataset.Directory)), dataset.Directory, images.Rows, classes, mean, std,
            Normalize(trainImages), labels.index_select(0, trainIndex),
            Normalize(all.index_select(0, valIndex)), labels.index_select(0, valIndex),
            Normalize(PixelsToTensor(test.Pixels, test.Count, test.Rows)), tensor(dataset.Test.Labels, dtype: int64));
        foreach (var t in result.AllTensors()) t.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>The training examples <see cref="From"/> leaves of <paramref name="images"/> after holding out the validation split.</summary>
    public static int TrainingCountOf(int images) => images - Math.Min(DefaultValidationCount, images / 10);

    /// <summary>
    /// A copy holding only the training examples at <paramref name="kept"/> (positions in <see cref="TrainImages"/>,
    /// in the order given), with the same validation and test splits and standardization: the training set a data
    /// selection (<see cref="Topiary.DataSelection.DataDiet"/>) keeps. This instance stays the caller's.
    /// </summary>
    /// <exception cref="ArgumentException">No index is given, or one is outside the training set.</exception>
    public ImageClassificationData WithTrainingExamples(IReadOnlyList<int> kept)
    {
        if (kept.Count == 0) throw new ArgumentException("at least one training example must be kept", nameof(kept));
        foreach (var i in kept)
            if (i < 0 || i >= TrainCount) throw new ArgumentException($"training example {i} does not exist (there are {TrainCount})", nameof(kept));
        using var scope = NewDisposeScope();
        var index = tensor(kept.Select(i => (long)i).ToArray(), dtype: int64);
        var result = new ImageClassificationData(Name, Directory, ImageSize, Classes, PixelMean, PixelStd,
            TrainImages.index_select(0, index), TrainLabels.index_select(0, index),
            ValidationImages.clone(), ValidationLabels.clone(), TestImages.clone(), TestLabels.clone());
        foreach (var t in result.AllTensors()) t.MoveToOuterDisposeScope();
        return result;
    }

    /// <summary>
    /// The test images with <paramref name="corruption"/> applied to their pixels in [0, 1] (undoing and redoing the
    /// standardization), drawn by <paramref name="seed"/>: the same seed gives the same images.
    /// </summary>
    public Tensor CorruptedTestImages(ImageCorruption corruption, ulong seed)
    {
        using var scope = NewDisposeScope();
        var pixels = TestImages.mul(HeldScalar.Of(PixelStd)).add(HeldScalar.Of(PixelMean));
        return corruption.Apply(pixels, seed).sub(HeldScalar.Of(PixelMean)).div(HeldScalar.Of(PixelStd)).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Index batches for one epoch, in an order fixed by (seed, epoch): a resumed run draws the same
    /// batches as an uninterrupted one.
    /// </summary>
    public IEnumerable<Tensor> EpochBatches(int seed, int epoch, int batchSize)
    {
        var order = randperm(TrainCount, generator: new Generator((ulong)seed * 1_000_003UL + (ulong)epoch + 1));
        try
        {
            for (long start = 0; start < TrainCount; start += batchSize)
                yield return order.narrow(0, start, Math.Min(batchSize, TrainCount - start));
        }
        finally
        {
            order.Dispose();
        }
    }

    /// <summary>Number of batches in one epoch.</summary>
    public int StepsPerEpoch(int batchSize) => (TrainCount + batchSize - 1) / batchSize;

    private static Tensor PixelsToTensor(byte[] pixels, int count, int size) =>
        tensor(pixels, dtype: uint8).reshape(count, 1, size, size).to(float32).div_(HeldScalar.Of(255f));

    private IEnumerable<Tensor> AllTensors() => new[] { TrainImages, TrainLabels, ValidationImages, ValidationLabels, TestImages, TestLabels };

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var t in AllTensors()) t.Dispose();
    }
}
