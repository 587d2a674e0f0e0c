using TorchSharp;
using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Data;

/// <summary>The synthetic corruptions <see cref="ImageCorruption"/> applies.</summary>
public enum CorruptionKind
{
    /// <summary>x + N(0, c²) per pixel.</summary>
    GaussianNoise,
    /// <summary>A Gaussian blur of standard deviation c pixels (edges replicated).</summary>
    GaussianBlur,
    /// <summary>(x − m)·c + m, m the image's mean pixel.</summary>
    Contrast,
}

/// <summary>
/// A corruption at a severity from 1 to 5, with the parameters c of Hendrycks and Dietterich's CIFAR-10-C (ICLR 2019),
/// the benchmark the robustness evaluation of Chun et al. (seed paper #112) uses: Gaussian noise σ = 0.04, 0.06, 0.08,
/// 0.09, 0.10; Gaussian blur σ = 0.4, 0.6, 0.7, 0.8, 1.0 pixels; contrast c = 0.75, 0.5, 0.4, 0.3, 0.15. Pixels are
/// in [0, 1] and the result is clipped to [0, 1]. Applied to Fashion-MNIST's 28×28 grey images instead of CIFAR's
/// colour ones.
/// </summary>
/// <param name="Kind">The corruption.</param>
/// <param name="Severity">1 (mild) to 5 (severe).</param>
public sealed record ImageCorruption(CorruptionKind Kind, int Severity)
{
    private static readonly IReadOnlyDictionary<CorruptionKind, double[]> Parameters = new Dictionary<CorruptionKind, double[]>
    {
        [CorruptionKind.GaussianNoise] = [0.04, 0.06, 0.08, 0.09, 0.10],
        [CorruptionKind.GaussianBlur] = [0.4, 0.6, 0.7, 0.8, 1.0],
        [CorruptionKind.Contrast] = [0.75, 0.5, 0.4, 0.3, 0.15],
    };

    /// <summary>The highest severity.</summary>
    public const int MaxSeverity = 5;

    /// <summary>Every kind at every severity, kind by kind.</summary>
    public static IReadOnlyList<ImageCorruption> All { get; } =
        [.. Enum.GetValues<CorruptionKind>().SelectMany(k => Enumerable.Range(1, MaxSeverity).Select(s => new ImageCorruption(k, s)))];

    /// <summary>The kind's short name in tables: noise (Gaussian), blur (Gaussian), contrast.</summary>
    public static string NameOf(CorruptionKind kind) => kind switch
    {
        CorruptionKind.GaussianNoise => "noise",
        CorruptionKind.GaussianBlur => "blur",
        _ => "contrast",
    };

    /// <summary>c at this severity.</summary>
    public double Parameter => Severity is >= 1 and <= MaxSeverity
        ? Parameters[Kind][Severity - 1]
        : throw new ArgumentOutOfRangeException(nameof(Severity), Severity, $"severity must lie in 1..{MaxSeverity}");

    /// <summary>The corrupted copy of <paramref name="pixels"/> (N × channels × H × W, values in [0, 1]); noise is drawn from <paramref name="seed"/>.</summary>
    public Tensor Apply(Tensor pixels, ulong seed)
    {
        if (pixels.dim() != 4) throw new ArgumentException($"expected N × C × H × W images, got shape [{string.Join(", ", pixels.shape)}]", nameof(pixels));
        var c = Parameter;
        using var scope = NewDisposeScope();
        var result = Kind switch
        {
            CorruptionKind.GaussianNoise => pixels.add(randn(pixels.shape, dtype: pixels.dtype, generator: new Generator(seed)).to(pixels.device).mul(HeldScalar.Of(c))),
            CorruptionKind.GaussianBlur => Blur(pixels, c),
            _ => Contrast(pixels, c),
        };
        return result.clamp(HeldScalar.Of(0), HeldScalar.Of(1)).MoveToOuterDisposeScope();
    }

    private static Tensor Contrast(Tensor pixels, double c)
    {
        var means = pixels.mean([1, 2, 3], keepdim: true);
        return pixels.sub(means).mul(HeldScalar.Of(c)).add(means);
    }

    // Separable Gaussian of radius ⌈3σ⌉, normalized to sum 1, edges replicated.
    private static Tensor Blur(Tensor pixels, double sigma)
    {
        var radius = (int)Math.Ceiling(3 * sigma);
        var offsets = arange(HeldScalar.Of(-radius), HeldScalar.Of(radius + 1), dtype: float64);
        var kernel = offsets.square().div(HeldScalar.Of(-2 * sigma * sigma)).exp();
        kernel = kernel.div(kernel.sum()).to(pixels.dtype).to(pixels.device);
        var channels = pixels.shape[1];
        var padded = nn.functional.pad(pixels, [radius, radius, radius, radius], PaddingModes.Replicate);
        var horizontal = kernel.reshape(1, 1, 1, -1).expand(channels, 1, 1, -1);
        var vertical = kernel.reshape(1, 1, -1, 1).expand(channels, 1, -1, 1);
        return nn.functional.conv2d(nn.functional.conv2d(padded, horizontal, groups: channels), vertical, groups: channels);
    }
}
