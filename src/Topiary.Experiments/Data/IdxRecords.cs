namespace Topiary.Data;

/// <summary>Images read from an IDX file: 8-bit grayscale, row-major, one image after another.</summary>
/// <param name="Count">Number of images.</param>
/// <param name="Rows">Height of every image in pixels.</param>
/// <param name="Columns">Width of every image in pixels.</param>
/// <param name="Pixels">All pixels, <c>Count * Rows * Columns</c> bytes; image <c>i</c> starts at <c>i * Rows * Columns</c>.</param>
public sealed record IdxImages(int Count, int Rows, int Columns, byte[] Pixels);

/// <summary>Images with one class label per image, both from the same split.</summary>
/// <param name="Images">The images.</param>
/// <param name="Labels">One label per image, each below the class count it was read with.</param>
public sealed record LabeledImages(IdxImages Images, byte[] Labels);

/// <summary>The standard train and test splits of an MNIST-style data set directory.</summary>
/// <param name="Directory">The directory the four files were read from.</param>
/// <param name="Train">The training split (<c>train-*</c> files).</param>
/// <param name="Test">The test split (<c>t10k-*</c> files).</param>
public sealed record IdxDataset(string Directory, LabeledImages Train, LabeledImages Test);
