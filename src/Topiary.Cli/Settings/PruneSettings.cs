using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Pruning.Toolkit;
using Topiary.Training;
using Topiary.Experiments;
using Topiary.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary prune</c>: the training flags, and where a run starts from.</summary>
internal sealed class PruneSettings : TranslationPairSettings
{
    [CommandOption("--preset <NAME>")]
    [Description("base settings: demo (default) or paper, the authors' LeNet-5/Fashion-MNIST settings (lenet5, lenet300 only)")]
    public string? Preset { get; init; }

    [CommandOption("--recipe <FILE>")]
    [Description("lenet5, lenet300: JSON recipe: method, regularizer, schedule, selectors, per-layer limits (flags still win)")]
    [AppliesTo(ModelFamily.Image)]
    public string? Recipe { get; init; }

    [CommandOption("--from <FILE>")]
    [Description("start from a saved model of the same kind instead of dense training")]
    public string? From { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("continue the run in DIR (killed, interrupted or stopped) with the settings its run.json recorded; takes no other flag")]
    public string? Resume { get; init; }

    /// <summary>The preset: the flag, or demo.</summary>
    public string PresetName => Preset ?? "demo";

    protected override string DefaultModel => ModelDefaults.PruneModel;

    /// <summary>
    /// The run's options: the model's (or the preset's) defaults, then the method's, then a recipe's values, then the
    /// flags. <c>--method</c> with a recipe replaces the recipe's method and brings that method's defaults (LOBSTER's
    /// SGD at lr 0.1), as it does without one.
    /// </summary>
    public PruningOptions Options()
    {
        var defaults = ModelDefaults.Prune(ModelName, PresetName);
        PruningOptions options;
        if (Recipe is null) options = Over(defaults, Method ?? defaults.Options.Method.Name);
        else
        {
            var recipe = RecipeReader.Read(Recipe, PruningMethods.Names);
            recipe = recipe with { Method = Method ?? recipe.Method };
            if (Scope is not null) recipe = recipe with { Selector = recipe.Selector with { Scope = ParameterScopeOr(recipe.Selector.Scope) } };
            options = OverTraining(RecipeOptions.Apply(recipe, defaults, GivenMethodSettings));
        }
        return FlagNotTaken([options]) is { } error ? throw new CliUsageException(error) : options;
    }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        OneOf("--preset", Preset, Family == ModelFamily.Image ? ["demo", "paper"] : ["demo"]),
    ];
}
