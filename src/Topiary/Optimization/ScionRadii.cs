namespace Topiary.Optimization;

/// <summary>Scion's radius ρ per <see cref="ScionNorm"/> (each &gt; 0 and finite; default 1).</summary>
public sealed record ScionRadii
{
    /// <summary>ρ of the spectral (hidden) layers.</summary>
    public double Spectral { get; init; } = 1;
    /// <summary>ρ of the column-normalized tensors (input layer, biases).</summary>
    public double ColumnNorm { get; init; } = 1;
    /// <summary>ρ of the sign (output) layer.</summary>
    public double Sign { get; init; } = 1;

    /// <summary>ρ of <paramref name="norm"/>.</summary>
    public double Of(ScionNorm norm) => norm switch
    {
        ScionNorm.Spectral => Spectral,
        ScionNorm.ColumnNorm => ColumnNorm,
        ScionNorm.Sign => Sign,
        _ => throw new ArgumentOutOfRangeException(nameof(norm), norm, null),
    };
}
