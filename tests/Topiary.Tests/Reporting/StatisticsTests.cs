using Topiary.Reporting;

namespace Topiary.Tests.Reporting;

public class StatisticsTests
{
    [Fact]
    public void Median_takes_the_middle_value_or_the_mean_of_the_two_middle_values()
    {
        Assert.Equal(3, Statistics.Median(new double[] { 9, 1, 3 }));
        Assert.Equal(2.5, Statistics.Median(new double[] { 4, 1, 2, 3 }));
        Assert.Equal(0, Statistics.Median(Array.Empty<double>()));
    }
}
