using Topiary.Pruning;

namespace Topiary.Tests.Pruning;

public class MetricFloorTests
{
    [Fact]
    public void For_accuracy_pruning_needs_strictly_more_than_the_floor_and_selection_at_least_it()
    {
        var floor = new MetricFloor(0.9);
        Assert.False(floor.AllowsPruning(0.9));
        Assert.True(floor.AllowsPruning(0.9001));
        Assert.True(floor.IsMetBy(0.9));
        Assert.False(floor.IsMetBy(0.8999));
        Assert.True(floor.IsBetter(0.95, 0.94));
    }

    [Fact]
    public void For_perplexity_the_bound_is_a_ceiling()
    {
        var ceiling = new MetricFloor(50, HigherIsBetter: false);
        Assert.True(ceiling.AllowsPruning(49.9));
        Assert.False(ceiling.AllowsPruning(50));
        Assert.True(ceiling.IsMetBy(50));
        Assert.False(ceiling.IsMetBy(50.1));
        Assert.True(ceiling.IsBetter(30, 40));
        Assert.Equal(double.PositiveInfinity, ceiling.Worst);
    }
}
