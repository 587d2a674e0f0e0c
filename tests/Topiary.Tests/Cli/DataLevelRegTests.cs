using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

/// <summary>The data-level regularizers' --reg values (pskd, groupdro, gram) are checked before anything runs.</summary>
public class DataLevelRegTests
{
    [Theory]
    [InlineData("groupdro:2", "must be at most 1")]
    [InlineData("groupdro:1:eta=-1", "eta must be finite and ≥ 0")]
    [InlineData("groupdro:1:adjust=1", "unknown parameter 'adjust'")]
    [InlineData("pskd:1.5", "must be at most 1")]
    [InlineData("pskd:0.8:eta=1", "'pskd' takes no parameters")]
    [InlineData("gram:1e-3:ridge=-1", "ridge must be a number > 0")]
    public void A_bad_value_exits_2_with_one_line_naming_reg(string spec, string message)
    {
        var result = CliProcess.Run("prune", "--reg", spec, "--data", "/nonexistent");
        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("--reg", line);
        Assert.Contains(message, line);
    }
}
