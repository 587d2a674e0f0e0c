using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class RepresentationRegTests
{
    [Theory]
    [InlineData("nc:1e-2:between=-1", "between must be a number ≥ 0")]
    [InlineData("elle:100:eps=0", "eps must be a number > 0")]
    [InlineData("tregs:1e-2:sphere=-0.5", "sphere must be a number ≥ 0")]
    [InlineData("gam:0.1:rho=0", "rho must be a number > 0")]
    [InlineData("ridg:1e-2:momentum=-1", "momentum must be a number > 0")]
    [InlineData("ridg:1e-2:momentum=2", "the momentum must be in (0, 1]")]
    [InlineData("jacnuc:1e-3:sigma=0", "sigma must be a number > 0")]
    [InlineData("arow:7:steps=0", "steps must be a whole number ≥ 1")]
    [InlineData("arow:7:smoothing=1", "the smoothing must be in [0, 1)")]
    [InlineData("aqc:1:limit=10", "'aqc' takes no parameters")]
    [InlineData("nested:0.1:seed=-1", "seed must be a whole number ≥ 0")]
    [InlineData("nested:1.5", "must be at most 1")]
    [InlineData("lv:1e-2:eta=0", "eta must be a number > 0")]
    [InlineData("lv:1e-2:lipschitz=2", "lipschitz must be 0 or 1")]
    [InlineData("mlip:1:k=0", "k must be a whole number ≥ 1")]
    [InlineData("mlip:1:eta=0", "eta must be a number > 0")]
    [InlineData("mlip:1:softmax=3", "softmax must be 0 or 1")]
    public void A_bad_parameter_of_a_representation_or_sharpness_regularizer_exits_2_with_one_line_naming_reg(string spec, string reason)
    {
        var result = CliProcess.Run("prune", "--reg", spec, "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--reg", line);
        Assert.Contains(reason, line);
    }
}
