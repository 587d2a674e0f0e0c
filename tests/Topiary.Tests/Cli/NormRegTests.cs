using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class NormRegTests
{
    [Theory]
    [InlineData("lawn:1:free=-1", "free must be a whole number ≥ 0")]
    [InlineData("lawn:1:free=1.5", "free must be a whole number ≥ 0")]
    public void A_bad_parameter_of_lawn_exits_2_with_one_line_naming_reg(string spec, string reason)
    {
        var result = CliProcess.Run("prune", "--reg", spec, "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--reg", line);
        Assert.Contains(reason, line);
    }
}
