using System.Text.Json;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

public class DataLevelFlagTests
{
    [Theory]
    [InlineData("--augment", "cutout:size=0", "--augment: cutout's size must be a whole number of pixels ≥ 1, got 0")]
    [InlineData("--augment", "cutout:size=2.5", "--augment: cutout's size")]
    [InlineData("--augment", "cutout:p=2", "--augment: cutout's p must be in [0, 1], got 2")]
    [InlineData("--augment", "mixup", "--augment: unknown name 'mixup'")]
    [InlineData("--augment", "shift:pixels=0", "--augment: shift's pixels must be a whole number ≥ 1, got 0")]
    [InlineData("--augment", "flip:p=2", "--augment: flip's p must be in [0, 1], got 2")]
    [InlineData("--augment", "flip,cutout,flip", "--augment: 'flip' is given twice")]
    [InlineData("--dense-schedule", "linear", "--dense-schedule: unknown value 'linear'")]
    [InlineData("--augment", "cutout:side=3", "--augment: unknown parameter 'side' of cutout")]
    [InlineData("--data-diet", "el2n:keep=1.5", "--data-diet: keep:")]
    [InlineData("--data-diet", "el2n:keep=0.8:offset=0.3", "--data-diet: offset:")]
    [InlineData("--data-diet", "grand:runs=0", "--data-diet: runs:")]
    [InlineData("--data-diet", "el2n:epochs=1.5", "--data-diet: epochs must be a whole number")]
    [InlineData("--data-diet", "forgetting", "--data-diet: unknown name 'forgetting' (expected one of: el2n, grand)")]
    public void Bad_values_exit_2_with_one_line_naming_the_flag(string flag, string value, string named) =>
        CliProcess.AssertUsageError(CliProcess.Run("prune", flag, value), named);

    [Theory]
    [InlineData("--augment", "cutout")]
    [InlineData("--data-diet", "el2n")]
    public void Language_models_refuse_the_image_flags(string flag, string value) =>
        CliProcess.AssertUsageError(CliProcess.Run("prune", "--model", "transformer-lm", flag, value), flag);

    [Fact]
    public void A_square_wider_than_the_images_is_refused()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 100, testCount: 20);
        CliProcess.AssertUsageError(CliProcess.Run("compare", "--data", data, "--augment", "cutout:size=29", "--out", Path.Combine(dir.Path, "c")),
            "--augment: cutout's size 29 is wider than the 28×28 images");
        CliProcess.AssertUsageError(CliProcess.Run("prune", "--data", data, "--augment", "flip,shift:pixels=28", "--out", Path.Combine(dir.Path, "p")),
            "--augment: a shift of 28 pixels moves the 28×28 images");
    }

    [Fact]
    public void A_run_with_both_records_them_and_trains_on_the_kept_images()
    {
        using var dir = new TestDirectory();
        var data = Path.Combine(dir.Path, "data");
        SyntheticIdx.Write(data, trainCount: 300, testCount: 50);
        var output = Path.Combine(dir.Path, "run");

        var result = CliProcess.Run("prune", "--model", "lenet300", "--data", data, "--subset", "200", "--dense-epochs", "1", "--epochs", "1",
            "--eval-every", "1", "--patience", "1", "--floor", "0", "--augment", "cutout:size=9,flip,shift:pixels=1", "--dense-schedule", "cosine",
            "--data-diet", "el2n:keep=0.5:epochs=0:runs=1", "--out", output);

        Assert.True(result.ExitCode == 0, $"exit {result.ExitCode}: {result.StandardError}\n{result.StandardOutput}");
        using var report = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "report.json")));
        var hyperparameters = report.RootElement.GetProperty("hyperparameters");
        Assert.Equal("shift:pixels=1,flip:p=0.5,cutout:size=9:p=1", hyperparameters.GetProperty("augment").GetString());
        Assert.Equal("cosine", hyperparameters.GetProperty("dense_schedule").GetString());
        Assert.Equal("el2n:keep=0.5:offset=0:epochs=0:runs=1", hyperparameters.GetProperty("data_diet").GetString());
        Assert.Equal(90, hyperparameters.GetProperty("data_diet_kept").GetInt32());
        Assert.Equal(90, report.RootElement.GetProperty("dataset").GetProperty("train_count").GetInt32());
        // --resume rebuilds the run from run.json, which must hold both flags.
        var options = JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "run.json"))).RootElement.GetProperty("options");
        Assert.Equal("cutout:size=9,flip,shift:pixels=1", options.GetProperty("augment").GetString());
        Assert.Equal("cosine", options.GetProperty("dense-schedule").GetString());
        Assert.Equal("el2n:keep=0.5:epochs=0:runs=1", options.GetProperty("data-diet").GetString());
    }
}
