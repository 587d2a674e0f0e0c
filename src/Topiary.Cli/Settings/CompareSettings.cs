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
    [Description("comma-separated methods (default relevance,l2,l1,none,lobster,gmp,hypersparse; transformers: relevance,l2,l1,none), or all (those and nm, structured, rigl, set); METHOD[[flag=value,…]] gives one entry its own method settings over the flags, e.g. relevance[[alpha=auto:0.5,decay=decoupled,gamma=1]] beside relevance; METHOD+REG+REG… adds regularizers to a method, e.g. none+spectral:1e-3+so:1e-4")]
    public string? Methods { get; init; }

    [CommandOption("--resume <DIR>")]
    [Description("continue the comparison in DIR (killed, interrupted or cut short) with the settings its run.json recorded: finished runs and dense models are kept, the rest runs; takes no other flag. Running the same comparison again with --out DIR does the same")]
    public string? Resume { get; init; }

    [CommandOption("--local-jobs <K>")]
    [Description("run the comparison as a sweep of independent cells (one per dense model and per method × seed) in K local processes, --threads divided among them (default: one process, every run in turn); the folder then holds sweep.json and cells/, and its numbers equal a serial compare run with --threads of one process")]
    public int? LocalJobs { get; init; }

    [CommandOption("--sizes <LIST>")]
    [Description("the size-for-size protocol: at each remaining fraction of LIST (largest first, e.g. 0.1,0.05,0.02,0.01,0.005, which 'default' gives) that a run's pruning crosses, its model is cropped to exactly that size, fine-tuned for --fine-tune-steps with the regularizer off and the mask fixed, and measured; the bound is lifted (--floor 0 unless given) and gmp and hypersparse aim at the smallest size")]
    public string? SizeList { get; init; }

    [CommandOption("--fine-tune-steps <N>")]
    [Description("with --sizes: fine-tuning steps at each size, the same for every method (default 500)")]
    public int? FineTuneSteps { get; init; }

    [CommandOption("--seeds <N>")]
    [Description("seeds per method: S, S+1, … from --seed; each seed trains one dense model every method starts from (default 3; transformers: 2)")]
    public int? Seeds { get; init; }

    protected override string DefaultModel => ModelDefaults.CompareModel;

    protected override string FolderPrefix => "compare-";

    /// <summary>The methods to compare, as labels (a method and optional +regularizers).</summary>
    public IReadOnlyList<string> MethodLabels =>
        MethodLabel.SplitList(Methods == "all" ? ModelDefaults.AllMethods(ModelName) : Methods ?? ModelDefaults.Methods(ModelName));

    /// <summary>The seeds: <c>--seeds</c> of them from <c>--seed</c> on.</summary>
    public IReadOnlyList<int> SeedList => Enumerable.Range(Seed ?? Dense().Seed, Seeds ?? ModelDefaults.Seeds(ModelName)).ToList();

    /// <summary>What a comparison uses of the data: <c>--subset</c>, or the model's comparison default.</summary>
    public int? SubsetOrDefault => Subset ?? ModelDefaults.CompareSubset(ModelName);

    /// <summary>The options of the dense models, and the recorded budget.</summary>
    public PruningOptions Dense() => OverTraining(ModelDefaults.Compare(ModelName).Options);

    /// <summary>
    /// A method's options: its own defaults over the comparison's, then the flags over both, then the label's regularizers;
    /// with <c>--sizes</c>, the protocol, the bound lifted (unless given) and gmp's and hypersparse's target at the smallest size.
    /// </summary>
    public PruningOptions ForMethod(string label)
    {
        var (method, extras) = MethodLabel.Split(label);
        var given = WithLabelSettings(label).GivenMethodSettings;
        if (Protocol is not { } protocol)
            return Over(ModelDefaults.Compare(ModelName), method, given with { Regularizers = MethodLabel.Join(given.Regularizers, extras) });
        var options = Over(ModelDefaults.Compare(ModelName), method, given with
        {
            Regularizers = MethodLabel.Join(given.Regularizers, extras),
            TargetSparsity = given.TargetSparsity ?? 1 - protocol.Sizes[^1],
        });
        return options with { Sizes = protocol };
    }

    /// <summary>
    /// These settings with the method settings in <paramref name="label"/>'s brackets over the flags
    /// (<c>relevance[alpha=auto:0.5]</c> sets --alpha for that entry only); these settings themselves without brackets.
    /// </summary>
    /// <exception cref="CliUsageException">A bracket's value is not one its flag takes.</exception>
    private CompareSettings WithLabelSettings(string label)
    {
        var settings = MethodLabel.Settings(label);
        if (settings.Count == 0) return this;
        var variant = new CompareSettings();
        foreach (var (name, value) in GivenOptions.Text(this)) GivenOptions.Assign(variant, name, value);
        foreach (var (flag, value) in settings) GivenOptions.Assign(variant, flag, value);
        return variant;
    }

    /// <summary>The one-line error for a label's bracket settings (a value its flag refuses, a setting its method does not take), or null.</summary>
    private string? LabelSettingsError(string label)
    {
        var settings = MethodLabel.Settings(label);
        if (settings.Count == 0) return null;
        try
        {
            var own = new CompareSettings();
            foreach (var (flag, value) in settings) GivenOptions.Assign(own, flag, value);
            if (own.Validate() is { Successful: false } invalid) return $"--methods: '{label}': {invalid.Message}";
            var method = ForMethod(label).Method;
            var notTaken = own.GivenMethodSettings.NotTakenBy(method);
            return notTaken.Count == 0 ? null : $"--methods: '{label}': {method.Name} takes no {OptionFlags.Of(notTaken[0])}";
        }
        catch (CliUsageException e)
        {
            return $"--methods: '{label}': {e.Message}";
        }
        catch (Exception e) when (e is PruningOptionException or Topiary.Methods.PruningMethodException)
        {
            return $"--methods: '{label}': {OptionFlags.Message(e)}";
        }
    }

    /// <summary>
    /// On a Transformer, the one-line refusal of what its runs would use untested (a --reg term, from the flag or the
    /// label, or --optimizer muon or steepest), checked here so that no dense model trains first; otherwise null.
    /// </summary>
    private string? UnvalidatedOnTransformers(string label)
    {
        if (Family == ModelFamily.Image) return null;
        try
        {
            Experiment.RequireSupported(ModelName, LanguageModelSubject.SupportedMethods, ForMethod(label));
            return null;
        }
        catch (Exception e) when (e is PruningOptionException or Topiary.Methods.PruningMethodException)
        {
            var message = OptionFlags.Message(e);
            return label == MethodLabel.Split(label).Method ? message : $"--methods: '{label}': {message}";
        }
    }

    /// <summary>With <c>--sizes</c> the bound is out of the way (unless given): the floor at 0, the ceiling where no perplexity reaches.</summary>
    public override PruningOptions OverTraining(PruningOptions defaults)
    {
        var options = base.OverTraining(defaults);
        return Protocol is null ? options : options with { Floor = Floor ?? 0, Ceiling = Ceiling ?? LiftedCeiling };
    }

    /// <summary>The ceiling of the protocol when none is given.</summary>
    public const double LiftedCeiling = 1e12;

    /// <summary>The size-for-size protocol of <c>--sizes</c> and <c>--fine-tune-steps</c>, or null without <c>--sizes</c>.</summary>
    public SizeProtocol? Protocol => SizeList is null || SizesError() is not null ? null
        : new SizeProtocol(SizeList == "default" ? SizeProtocol.DefaultSizes : ParseSizes(SizeList), FineTuneSteps ?? DefaultFineTuneSteps);

    /// <summary>Fine-tuning steps per size when <c>--fine-tune-steps</c> is not given.</summary>
    public const int DefaultFineTuneSteps = 500;

    private static List<double> ParseSizes(string text) =>
        text.Split(',', StringSplitOptions.TrimEntries).Select(s => double.Parse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture)).ToList();

    private string? SizesError()
    {
        if (SizeList is null) return FineTuneSteps is null ? null : "--fine-tune-steps: only with --sizes";
        if (SizeList == "default") return null;
        var parts = SizeList.Split(',', StringSplitOptions.TrimEntries);
        if (parts.Any(p => !double.TryParse(p, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var v) || !(v > 0 && v < 1)))
            return $"--sizes: expected remaining fractions in (0, 1), e.g. 0.1,0.05,0.02, or 'default'; got '{SizeList}'";
        var sizes = ParseSizes(SizeList);
        return sizes.Zip(sizes.Skip(1)).All(p => p.First > p.Second) ? null : $"--sizes: give distinct sizes, largest first; got '{SizeList}'";
    }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        MethodsError(),
        Method is null ? null : "--method: compare takes --methods (a comma-separated list)",
        AtLeast("--seeds", Seeds, 1),
        AtLeast("--local-jobs", LocalJobs, 1),
        SizesError(),
        AtLeast("--fine-tune-steps", FineTuneSteps, 0),
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
            if ((MethodLabel.Error(label) ?? LabelSettingsError(label) ?? UnvalidatedOnTransformers(label)) is { } error) return error;
        }
        return labels.Distinct().Count() != labels.Count ? "--methods: a method is listed twice" : null;
    }
}
