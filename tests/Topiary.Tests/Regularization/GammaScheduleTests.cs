using Topiary.Regularization;

namespace Topiary.Tests.Regularization;

public class GammaScheduleTests
{
    [Fact]
    public void Gamma_decays_linearly_to_zero_over_one_epoch_and_restarts_at_each_reset()
    {
        var schedule = new GammaSchedule(1e-3, decay: true, stepsPerEpoch: 100);
        Assert.Equal(1e-3, schedule.Current);
        for (var i = 0; i < 50; i++) schedule.Advance();
        Assert.Equal(5e-4, schedule.Current, 12);
        for (var i = 0; i < 80; i++) schedule.Advance();
        Assert.Equal(0, schedule.Current);
        schedule.Reset();
        Assert.Equal(1e-3, schedule.Current);
    }

    [Fact]
    public void Without_decay_gamma_stays_constant()
    {
        var schedule = new GammaSchedule(2e-3, decay: false, stepsPerEpoch: 10);
        for (var i = 0; i < 25; i++) schedule.Advance();
        Assert.Equal(2e-3, schedule.Current);
    }

    [Fact]
    public void Negative_gamma_is_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new GammaSchedule(-1, true, 10));
    }
}
