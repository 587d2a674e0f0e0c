using Topiary.Cli;

namespace Topiary.Tests.Cli;

/// <summary>Generated help and Spectre's parse errors, run in-process: nothing here trains or reads data.</summary>
public class HelpAndParseErrorTests
{
    private static (int ExitCode, string Out, string Error) Run(params string[] args)
    {
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = CliApp.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Theory]
    [InlineData("prune", "--model=transformer-lm", "--help")]
    [InlineData("prune", "--model", "transformer-lm", "--help")]
    [InlineData("prune", "--help")]
    public void Prune_help_lists_every_models_flags_whatever_the_model_and_exits_0(params string[] args)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        foreach (var flag in new[] { "--corpus", "--ceiling-ratio", "--d-model", "--source", "--bleu-pairs", "--data", "--floor", "--recipe", "--resume", "--epochs", "--method" })
            Assert.Contains(flag, output);
        // Flags for some models only say which.
        Assert.Contains("transformer-lm: web", output);
    }

    [Theory]
    [InlineData("prune")]
    [InlineData("compare")]
    [InlineData("sweep", "plan")]
    [InlineData("sweep", "run-cell")]
    [InlineData("sweep", "run")]
    [InlineData("sweep", "collect")]
    [InlineData("sweep", "slurm")]
    [InlineData("eval")]
    [InlineData("export")]
    [InlineData("simplify")]
    [InlineData("analyze")]
    [InlineData("trim")]
    [InlineData("backend")]
    public void Every_commands_help_renders_its_options_and_exits_0(params string[] command)
    {
        // Help text is markup: a bracket in a description that is not escaped ([[ ]]) breaks the whole page.
        var (code, output, error) = Run([.. command, "--help"]);
        Assert.True(code == 0, $"exit {code}: {error}");
        Assert.Contains("OPTIONS:", output);
        Assert.Contains("--help", output);
        Assert.Equal("", error.Trim());
    }

    [Fact]
    public void Compare_help_lists_methods_and_seeds()
    {
        var (code, output, _) = Run("compare", "--help");
        Assert.Equal(0, code);
        Assert.Contains("--methods", output);
        Assert.Contains("--seeds", output);
    }

    [Fact]
    public void The_overview_names_every_command_and_the_version_is_one_line()
    {
        var (code, output, _) = Run("--help");
        Assert.Equal(0, code);
        foreach (var command in new[] { "prune", "compare", "eval", "export", "simplify", "analyze", "trim", "backend" })
            Assert.Contains(command, output);
        Assert.Equal(2, Run().ExitCode);
        var version = Run("--version");
        Assert.Equal(0, version.ExitCode);
        Assert.Equal(ToolInfo.Version, version.Out.Trim());
    }

    [Theory]
    [InlineData(new[] { "prune", "--frobnicate", "1" }, "--frobnicate: unknown option for 'prune'")]
    [InlineData(new[] { "eval", "--model-file", "m.topiary", "--colour" }, "--colour: unknown option for 'eval'")]
    [InlineData(new[] { "prune", "--epochs", "abc" }, "--epochs: expected an integer, got 'abc'")]
    [InlineData(new[] { "prune", "--lr=fast" }, "--lr: expected a number, got 'fast'")]
    [InlineData(new[] { "prune", "--data" }, "--data: a value is required")]
    [InlineData(new[] { "prune", "--epochs", "--lr", "1" }, "--epochs: a value is required")]
    [InlineData(new[] { "prune", "--epochs", "1", "--epochs=2" }, "--epochs: given more than once")]
    [InlineData(new[] { "prune", "--subset", "5" }, "--subset: must be at least 20, got 5")]
    [InlineData(new[] { "prune", "--model", "transformer-lm", "--data", "x" }, "--data: transformer-lm reads text; use --corpus")]
    [InlineData(new[] { "prune", "--model", "lenet5", "--ceiling", "2" }, "--ceiling: lenet5 is gated by validation accuracy; use --floor")]
    [InlineData(new[] { "prune", "--model", "transformer-mt", "--recipe", "r.json" }, "--recipe: only for lenet5 and lenet300, not transformer-mt")]
    [InlineData(new[] { "prune", "--model", "transformer-lm", "--preset", "paper" }, "--preset: unknown value 'paper' (expected one of: demo)")]
    [InlineData(new[] { "compare", "--seeds", "0" }, "--seeds: must be at least 1, got 0")]
    [InlineData(new[] { "frobnicate" }, "unknown command 'frobnicate'")]
    [InlineData(new[] { "prune", "stray" }, "unknown command 'stray'")]
    public void Bad_input_is_one_line_naming_the_flag_with_exit_code_2(string[] args, string expected)
    {
        var (code, output, error) = Run(args);
        Assert.Equal(2, code);
        var line = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("topiary: error: ", line);
        Assert.Contains(expected, line);
        Assert.Equal("", output);
    }
}
