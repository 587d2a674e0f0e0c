using Topiary.Methods;
using System.ComponentModel;
using System.Globalization;
using System.Reflection;
using Topiary.Cli.Settings;
using Topiary.Experiments;

namespace Topiary.Tests.Cli;

/// <summary>
/// The help states the per-model defaults in the flags' descriptions (attribute text, fixed at compile time), while
/// <see cref="ModelDefaults"/> decides them: a default that changes without its description fails here.
/// </summary>
public class HelpDefaultsTests
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static TheoryData<string, string> PerModelFlags => new()
    {
        { nameof(TrainingSettings.DenseEpochs), nameof(PruningOptions.DenseEpochs) },
        { nameof(TrainingSettings.Epochs), nameof(PruningOptions.Epochs) },
        { nameof(TrainingSettings.EvalEvery), nameof(PruningOptions.EvalEvery) },
        { nameof(TrainingSettings.CropFraction), nameof(RelevancePruning.CropFraction) },
        { nameof(TrainingSettings.BatchSize), nameof(PruningOptions.BatchSize) },
        { nameof(TrainingSettings.Patience), nameof(PruningOptions.Patience) },
    };

    [Theory]
    [MemberData(nameof(PerModelFlags))]
    public void The_help_names_the_default_every_model_gets(string setting, string option)
    {
        var description = typeof(TrainingSettings).GetProperty(setting)!.GetCustomAttribute<DescriptionAttribute>()!.Description;
        string Value(PruningDefaults d) => Of(d, option);
        string Prune(string model) => Value(ModelDefaults.Prune(model, "demo"));

        Assert.Contains($"lenet5, lenet300 {Prune("lenet5")}", description);
        Assert.Equal(Prune("lenet5"), Prune("lenet300"));
        var transformers = Prune("transformer-lm") == Prune("transformer-mt")
            ? $"transformer-lm, transformer-mt {Prune("transformer-lm")}"
            : $"transformer-lm {Prune("transformer-lm")}, transformer-mt {Prune("transformer-mt")}";
        Assert.Contains(transformers, description);
        if (Value(ModelDefaults.Prune("lenet5", "paper")) is var paper && paper != Prune("lenet5"))
            Assert.Contains($"(paper {paper})", description);
    }

    [Theory]
    [InlineData(nameof(TrainingSettings.DenseEpochs), nameof(PruningOptions.DenseEpochs))]
    [InlineData(nameof(TrainingSettings.Epochs), nameof(PruningOptions.Epochs))]
    public void The_help_names_compares_own_budget(string setting, string option)
    {
        var description = typeof(TrainingSettings).GetProperty(setting)!.GetCustomAttribute<DescriptionAttribute>()!.Description;
        string Compare(string model) => Of(ModelDefaults.Compare(model), option);
        Assert.Contains($"compare: {Compare("lenet300")}, {Compare("transformer-lm")}, {Compare("transformer-mt")}", description);
    }

    /// <summary>A setting of the default method's run from <paramref name="defaults"/>: of the options, or of the method.</summary>
    private static string Of(PruningDefaults defaults, string property)
    {
        var run = defaults.For("relevance");
        var value = typeof(PruningOptions).GetProperty(property) is { } own ? own.GetValue(run) : run.Method.GetType().GetProperty(property)!.GetValue(run.Method);
        return Convert.ToString(value, Inv)!;
    }
}
