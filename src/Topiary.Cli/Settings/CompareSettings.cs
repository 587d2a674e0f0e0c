using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Cli.Commands;
using Topiary.Language;
using Topiary.Training;
using Topiary.Experiments;
using Topiary.Models;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary compare</c>: the methods and seeds, and the training flags applied to every method.</summary>
internal class CompareSettings : TranslationPairSettings
{
    [CommandOption("--methods <LIST>")]
    [Description("comma-separated methods (default relevance,l2,l1,none,lobster,gmp,hypersparse; transformers: relevance,l2,l1,none); METHOD+REG+REG… adds regularizers to a method, e.g. none+spectral:1e-3+so:1e-4")]
    public string? Methods { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("continue the comparison in DIR (killed, interrupted or cut short) with the settings its run.json recorded: finished runs and dense models are kept, the rest runs; takes no other flag. Running the same comparison again with --out DIR does the same")]
    public string? Resume { get; init; }

    [CommandOption("--local-jobs <K>")]
    [Description("run the comparison as a sweep of independent cells (one per dense model and per method × seed) in K local processes, --threads divided among them (default: one process, every run in turn); the folder then holds sweep.json and cells/, and its numbers equal a serial compare run with --threads of one process")]
    public int? LocalJobs { get; init; }

    [CommandOption("--seeds <N>")]
    [Description("seeds per method: S, S+1, … from --seed; each seed trains one dense model every method starts from (default 3; transformers: 2)")]
    public int? Seeds { get; init; }

    protected override string DefaultModel => ModelDefaults.CompareModel;

    protected override string FolderPrefix => "compare-";

    /// <summary>The methods to compare, as labels (a method and optional +regularizers).</summary>
    public IReadOnlyList<string> MethodLabels =>
        (Methods ?? ModelDefaults.Methods(ModelName)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    /// <summary>The seeds: <c>--seeds</c> of them from <c>--seed</c> on.</summary>
    public IReadOnlyList<int> SeedList => Enumerable.Range(Seed ?? Dense().Seed, Seeds ?? ModelDefaults.Seeds(ModelName)).ToList();

    /// <summary>What a comparison uses of the data: <c>--subset</c>, or the model's comparison default.</summary>
    public int? SubsetOrDefault => Subset ?? ModelDefaults.CompareSubset(ModelName);

    /// <summary>The options of the dense models, and the recorded budget.</summary>
    public PruningOptions Dense() => OverTraining(ModelDefaults.Compare(ModelName).Options);

    /// <summary>A method's options: its own defaults over the comparison's, then the flags over both, then the label's regularizers.</summary>
    public PruningOptions ForMethod(string label)
    {
        var (method, extras) = MethodLabel.Split(label);
        var given = GivenMethodSettings;
        return Over(ModelDefaults.Compare(ModelName), method, given with { Regularizers = MethodLabel.Join(given.Regularizers, extras) });
    }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        MethodsError(),
        Method is null ? null : "--method: compare takes --methods (a comma-separated list)",
        AtLeast("--seeds", Seeds, 1),
        AtLeast("--local-jobs", LocalJobs, 1),
        MethodsError() is null ? FlagNotTaken(MethodLabels.Select(ForMethod).ToList()) : null,
    ];

    private string? MethodsError()
    {
        var labels = MethodLabels;
        if (labels.Count == 0) return "--methods: at least one method is required";
        var allowed = Family == ModelFamily.Image ? PruningMethods.Names : LanguageModelSubject.SupportedMethods;
        foreach (var label in labels)
        {
            var method = MethodLabel.Split(label).Method;
            if (!PruningMethods.Names.Contains(method))
                return $"--methods: unknown method '{method}' (expected some of: {string.Join(", ", allowed)}, each optionally followed by +regularizer terms)";
            if (Family != ModelFamily.Image)
            {
                try { Experiment.RequireSupported(TransformerLanguageModel.ArchitectureName, LanguageModelSubject.SupportedMethods, method); }
                catch (PruningOptionException e) { return $"--methods: {e.Reason}"; }
            }
            if (MethodLabel.Error(label) is { } error) return error;
        }
        return labels.Distinct().Count() != labels.Count ? "--methods: a method is listed twice" : null;
    }
}
