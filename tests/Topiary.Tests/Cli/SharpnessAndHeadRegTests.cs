using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class SharpnessAndHeadRegTests
{
    [Theory]
    [InlineData("gam:0.1:rho=0", "rho must be a number > 0")]
    [InlineData("ridg:1e-2:momentum=-1", "momentum must be a number > 0")]
    [InlineData("ridg:1e-2:momentum=2", "the momentum must be in (0, 1]")]
    [InlineData("jacnuc:1e-3:sigma=0", "sigma must be a number > 0")]
    public void A_bad_parameter_of_gam_ridg_or_jacnuc_exits_2_with_one_line_naming_reg(string spec, string reason)
    {
        var result = CliProcess.Run("prune", "--reg", spec, "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--reg", line);
        Assert.Contains(reason, line);
    }
}
