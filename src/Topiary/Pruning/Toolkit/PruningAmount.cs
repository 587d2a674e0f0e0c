namespace Topiary.Pruning.Toolkit;

/// <summary>
/// How much to prune, as in <c>torch.nn.utils.prune</c>'s <c>amount</c>: a fraction in [0, 1] of the
/// entries still unpruned, or an absolute count of them.
/// </summary>
public readonly record struct PruningAmount
{
    private PruningAmount(double fraction, long count, bool isFraction)
    {
        Fraction = fraction;
        Count = count;
        IsFraction = isFraction;
    }

    /// <summary>True for a fraction, false for a count.</summary>
    public bool IsFraction { get; }

    /// <summary>The fraction (when <see cref="IsFraction"/>).</summary>
    public double Fraction { get; }

    /// <summary>The count (when not <see cref="IsFraction"/>).</summary>
    public long Count { get; }

    /// <summary>A fraction in [0, 1] of the still-unpruned entries.</summary>
    public static PruningAmount OfFraction(double fraction) =>
        fraction is >= 0 and <= 1 ? new(fraction, 0, true) : throw new ArgumentOutOfRangeException(nameof(fraction), fraction, "a pruning fraction must lie in [0, 1]");

    /// <summary>An absolute number of entries (≥ 0).</summary>
    public static PruningAmount OfCount(long count) =>
        count >= 0 ? new(0, count, false) : throw new ArgumentOutOfRangeException(nameof(count), count, "a pruning count must be ≥ 0");

    /// <summary>
    /// The number of entries to remove out of <paramref name="alive"/> unpruned ones: round(fraction × alive)
    /// (half away from zero, as PyTorch), or the count. A count above <paramref name="alive"/> is an error.
    /// </summary>
    public long Resolve(long alive)
    {
        if (IsFraction) return (long)Math.Round(Fraction * alive, MidpointRounding.AwayFromZero);
        if (Count > alive) throw new ArgumentOutOfRangeException(nameof(alive), alive, $"cannot prune {Count} entries: only {alive} remain");
        return Count;
    }

    /// <inheritdoc />
    public override string ToString() => IsFraction ? Fraction.ToString("R", System.Globalization.CultureInfo.InvariantCulture) : Count.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
