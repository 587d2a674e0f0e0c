using System.Buffers.Binary;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Tests.Training;

public class SessionStateTests
{
    [Fact]
    public void The_random_state_round_trips_and_a_forged_index_is_refused_without_a_crash()
    {
        manual_seed(11);
        rand(5).Dispose();
        using var saved = RandomGeneratorState.Save();
        using var expected = rand(7);
        rand(1000).Dispose();
        RandomGeneratorState.Load(saved);
        using var again = rand(7);
        Assert.True(expected.eq(again).all().item<bool>());

        foreach (var (left, next) in new[] { (100_000, 3UL), (0, 3UL), (600, 100UL), (5, 624UL) })
        {
            var bytes = saved.data<byte>().ToArray();
            BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(8), left);
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(16), next);
            using var forged = tensor(bytes).clone();
            Assert.Contains("damaged", Assert.Throws<ArgumentException>(() => RandomGeneratorState.Load(forged)).Message);
        }
        using var tooShort = zeros(10, dtype: ScalarType.Byte);
        Assert.Throws<ArgumentException>(() => RandomGeneratorState.Load(tooShort));
    }

    [Fact]
    public void A_learning_rate_schedule_continues_from_its_saved_position()
    {
        var parameter = new TorchSharp.Modules.Parameter(zeros(3));
        TorchSharp.torch.optim.Optimizer Optimizer() => TorchSharp.torch.optim.SGD(new[] { parameter }, 1.0);
        var first = Optimizer();
        var schedule = TorchSharp.torch.optim.lr_scheduler.StepLR(first, 3, 0.5);
        for (var i = 0; i < 7; i++) { first.step(); schedule.step(); }
        var position = LearningRateScheduleState.Save(schedule);

        var second = Optimizer();
        var resumed = TorchSharp.torch.optim.lr_scheduler.StepLR(second, 3, 0.5);
        LearningRateScheduleState.Load(resumed, position);
        second.ParamGroups.First().LearningRate = first.ParamGroups.First().LearningRate;
        for (var i = 0; i < 5; i++)
        {
            first.step(); schedule.step();
            second.step(); resumed.step();
            Assert.Equal(first.ParamGroups.First().LearningRate, second.ParamGroups.First().LearningRate);
        }
        Assert.Equal(0.0625, first.ParamGroups.First().LearningRate);     // 12 steps of StepLR(3, ½): ½⁴
        var cosine = TorchSharp.torch.optim.lr_scheduler.CosineAnnealingLR(Optimizer(), 10);
        Assert.Contains("StepLR", Assert.Throws<ArgumentException>(() => LearningRateScheduleState.Load(cosine, position)).Message);
    }
}
