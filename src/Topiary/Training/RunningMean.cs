namespace Topiary.Training;

/// <summary>Mean of the values added since the last <see cref="Take"/>, for progress lines.</summary>
internal sealed class RunningMean
{
    private double sum;
    private int count;
    private double last = double.NaN;

    /// <summary>Sum, count and last mean, for checkpoints.</summary>
    public (double Sum, int Count, double Last) Export() => (sum, count, last);

    /// <summary>Restores what <see cref="Export"/> returned.</summary>
    public void Import(double savedSum, int savedCount, double savedLast) => (sum, count, last) = (savedSum, savedCount, savedLast);

    public void Add(double value)
    {
        sum += value;
        count++;
    }

    public double Take()
    {
        if (count > 0) last = sum / count;
        sum = 0;
        count = 0;
        return last;
    }
}
