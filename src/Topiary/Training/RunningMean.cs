namespace Topiary.Training;

/// <summary>Mean of the values added since the last <see cref="Take"/>, for progress lines.</summary>
internal sealed class RunningMean
{
    private double sum;
    private int count;
    private double last = double.NaN;

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
