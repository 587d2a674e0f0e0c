using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Pruning;
using Topiary.Regularization;
using Topiary.Training;
using Topiary.Tuning;
using Topiary.Cli.Commands;
using Topiary.Experiments;

namespace Topiary.Cli.Settings;

/// <summary>
/// The training and pruning flags every model takes in <c>prune</c> and <c>compare</c>. Every one is unset unless
/// given: its default depends on the model, the command, the preset and the method, and <see cref="Over"/> is where
/// the given ones override those defaults.
/// </summary>
internal abstract class TrainingSettings : RunSettings
{
    [CommandOption("--model <NAME>")]
    [Description("lenet5, lenet300, transformer-lm or transformer-mt (default lenet5; compare: lenet300)")]
    public string? Model { get; init; }

    [CommandOption("--method <NAME>")]
    [Description("relevance, l2, l1, none, lobster, hypersparse, gmp, nm, structured, rigl or set (default relevance; transformers: the first four). The last seven bring their own schedule and defaults: lobster = SGD lr 0.1, λ (--gamma) 1e-4, plateau/bisection pruning; hypersparse = penalty λ0 (--gamma) 1e-4 with the ART schedule; gmp = gradual magnitude pruning; nm = N:M semi-structured (--pattern) at the first evaluation, then fine-tuning; structured = whole neurons and filters (--target-sparsity of each hidden layer, smallest L2 norm) at the first evaluation, then fine-tuning; rigl and set = dynamic sparse training at --target-sparsity, regrowing by gradient (RigL) or at random (SET). Prune only: compare takes --methods")]
    public string? Method { get; init; }

    [CommandOption("--reg <LIST>")]
    [AppliesTo(ModelFamily.Image)]
    [Description("lenet5, lenet300: further regularizers at constant strengths, NAME:S,..., e.g. spectral:1e-3,so:1e-4 (see docs/regularizers.md). They act in the pruning phase only, beside the method's own term: dense training runs without them. Not on the Transformers, where they were never validated")]
    public string? Reg { get; init; }

    [CommandOption("--gamma <G>")]
    [Description("γ0, regularization strength (default 1e-3; lobster, hypersparse 1e-4; gmp 0)")]
    public double? Gamma { get; init; }

    [CommandOption("--alpha <A>")]
    [Description("relevance: α of exp(-|∂L/∂w|/α): a number (default 1, the paper's) or auto:q, per layer the q-quantile of the relevance signal over the unpruned weights, tracked over steps (docs/method.md)")]
    public string? Alpha { get; init; }

    [CommandOption("--signal <S>")]
    [Description("relevance: what the gate reads: minibatch (default, the paper: this step's |∂L/∂w|) or average (a running average of |∂L/∂w|, β = 0.9)")]
    public string? Signal { get; init; }

    [CommandOption("--decay <D>")]
    [Description("relevance: coupled (default, the paper: the decay joins the gradient, through the optimizer) or decoupled (applied to the weights after the step, as AdamW does)")]
    public string? Decay { get; init; }

    [CommandOption("--rewind <K>")]
    [Description("iterative methods: lottery-ticket rewinding; after each crop the remaining weights go back to their values at pruning step K (0: the dense model) and the optimizer state is cleared (Frankle et al. 2019, 2020)")]
    public long? Rewind { get; init; }

    [CommandOption("--max-sparsity <S>")]
    [Description("iterative methods: stop cropping once this share of the prunable parameters is pruned, a number in (0,1), or none; the last crop is clipped to land on it and the rest of the budget fine-tunes under that mask; default: prune (lenet5, lenet300, demo preset) 0.98, otherwise none (crop while validation beats the floor, as the paper)")]
    public string? MaxSparsity { get; init; }

    [CommandOption("--pattern <N:M>")]
    [Description("nm: keep N of every M consecutive weights of each row (default 2:4, NVIDIA's; 4:8 and others too); rows that are not a multiple of M long, and biases, stay dense")]
    public string? Pattern { get; init; }

    [CommandOption("--criterion <C>")]
    [Description("what the schedule ranks by when it prunes, lowest first: magnitude (default, |w|), snip (|g·w| on the last batch, Lee et al. 2019), taylor (Σ|g·w| since the last pruning event, Molchanov et al. 2019) or movement (−Σg·w over the run, Sanh et al. 2020); every method and recipe")]
    public string? Criterion { get; init; }

    [CommandOption("--no-gamma-decay")]
    [Description("keep γ constant instead of decaying it over an epoch after each crop")]
    public bool NoGammaDecay { get; init; }

    [CommandOption("--test-curve")]
    [Description("also measure the test metric before every crop (report only; one test pass per crop)")]
    public bool TestCurve { get; init; }

    [CommandOption("--scope <SCOPE>")]
    [Description("tensors regularized and pruned: all (weights and biases; default) or weights")]
    public string? Scope { get; init; }

    [CommandOption("--crop-fraction <T>")]
    [Description("fraction of remaining parameters removed per crop, in (0,1); default per model: lenet5, lenet300 0.08 (paper 0.04), transformer-lm, transformer-mt 0.15")]
    public double? CropFraction { get; init; }

    [CommandOption("--eval-every <E>")]
    [Description("evaluate every E batches; default per model: lenet5, lenet300 100 (paper 250), transformer-lm, transformer-mt 50 (compare: 25)")]
    public int? EvalEvery { get; init; }

    [CommandOption("--patience <P>")]
    [Description("stop after P evaluations without a smaller model within the bound; default per model: lenet5, lenet300 25 (hypersparse 1000), transformer-lm, transformer-mt 10")]
    public int? Patience { get; init; }

    [CommandOption("--dense-epochs <N>")]
    [Description("epochs of dense training before pruning; default per model: lenet5, lenet300 4 (paper 10), transformer-lm 1, transformer-mt 5; compare: 3, 2, 3")]
    public int? DenseEpochs { get; init; }

    [CommandOption("--dense-schedule <S>")]
    [Description("learning rate over the dense epochs: constant (default) or cosine, annealed from --lr towards 0 as η·½(1 + cos(π·t/T)) over the T dense steps (Loshchilov & Hutter 2017); the pruning phase starts again at --lr")]
    public string? DenseSchedule { get; init; }

    [CommandOption("--epochs <N>")]
    [Description("epoch budget of the pruning phase; default per model: lenet5, lenet300 12 (paper 75), transformer-lm 1, transformer-mt 2; compare: 12, 2, 1")]
    public int? Epochs { get; init; }

    [CommandOption("--batch-size <N>")]
    [Description("mini-batch size (images, windows or pairs); default per model: lenet5, lenet300 100, transformer-lm, transformer-mt 32")]
    public int? BatchSize { get; init; }

    [CommandOption("--lr <LR>")]
    [Description("learning rate (default 1e-3; lobster 0.1)")]
    public double? Lr { get; init; }

    [CommandOption("--optimizer <NAME>")]
    [Description("adam, adam-spectral, sgd, muon, steepest, scion, scion-constrained, scion-na, fira or egn (default adam; lobster sgd; egn: use --lr 1, its largest step); the Transformers take adam or sgd only (the others were validated on lenet5 and lenet300 only)")]
    public string? Optimizer { get; init; }

    [CommandOption("--momentum <M>")]
    [Description("momentum of sgd, muon, scion and egn (default 0.9; lobster 0)")]
    public double? Momentum { get; init; }

    [CommandOption("--seed <S>")]
    [Description("seed of initialization, split, batch order and samples (default 1234); compare: the first seed")]
    public int? Seed { get; init; }

    [CommandOption("--target-sparsity <S>")]
    [Description("final sparsity of gmp and hypersparse, in (0,1) (default 0.9; compare: 0.98); structured: the fraction of each hidden layer's neurons or filters removed (default 0.5); rigl and set: their constant sparsity (default 0.9)")]
    public double? TargetSparsity { get; init; }

    [CommandOption("--twt <X>")]
    [Description("lobster: tolerated relative validation-loss worsening per threshold (default 0.05)")]
    public double? Twt { get; init; }

    [CommandOption("--pwe <N>")]
    [Description("lobster: plateau patience in evaluations (default 1)")]
    public int? Pwe { get; init; }

    [CommandOption("--growth <G>")]
    [Description("hypersparse: growth of λ per epoch, > 1 (default 2)")]
    public double? Growth { get; init; }

    [CommandOption("--tune <TUNER>")]
    [AppliesTo(ModelFamily.Image)]
    [Description("tune the method's strength on the validation split while it prunes (its multiplier m, the steps run with m·γ): hoag (HOAG, implicit hypergradient with conjugate gradients), bilevel (adaptively inexact bilevel method, backtracking) or stn (self-tuning network, a best-response approximation); default off: the hand-set strength")]
    public string? Tune { get; init; }

    [CommandOption("--tune-every <K>")]
    [AppliesTo(ModelFamily.Image)]
    [Description("with --tune: update the multiplier at every K-th evaluation (default 1)")]
    public int? TuneEvery { get; init; }

    [CommandOption("--subset <N>")]
    [Description("use only the first N training images (at least 20), characters of the corpus, or verse pairs that fit the context; default all (compare: transformer-lm 1000000, transformer-mt 8000)")]
    public int? Subset { get; init; }

    /// <summary>The model to run: the flag, or the command's default.</summary>
    public string ModelName => Model ?? DefaultModel;

    /// <summary>The family of <see cref="ModelName"/>, which decides what runs.</summary>
    public ModelFamily Family => ModelFamilies.Of(ModelName);

    protected abstract string DefaultModel { get; }

    /// <summary>The method settings the flags give (null where a flag is not given).</summary>
    public MethodSettings GivenMethodSettings => new()
    {
        Gamma = Gamma,
        Alpha = Gate?.AlphaQuantile is null ? Gate?.Alpha : null,
        AlphaQuantile = Gate?.AlphaQuantile,
        Signal = Signal switch { "minibatch" => RelevanceSignal.Minibatch, "average" => RelevanceSignal.RunningAverage, _ => null },
        Decay = Decay switch { "coupled" => DecayCoupling.Coupled, "decoupled" => DecayCoupling.Decoupled, _ => null },
        GammaDecay = NoGammaDecay ? false : null,
        Pattern = ParsePattern(Pattern),
        RewindStep = Rewind,
        MaxSparsity = MaxSparsity == "none" ? MethodSettings.NoMaxSparsity : ParseFraction(MaxSparsity),
        Criterion = Criterion switch
        {
            "magnitude" => PruningCriterion.Magnitude, "snip" => PruningCriterion.Snip, "taylor" => PruningCriterion.Taylor,
            "movement" => PruningCriterion.Movement, _ => null,
        },
        CropFraction = CropFraction,
        TargetSparsity = TargetSparsity,
        Twt = Twt,
        Pwe = Pwe,
        Growth = Growth,
        Tuning = Tune is null || !StrengthTunings.Names.Contains(Tune) ? null
            : StrengthTunings.Create(Tune) with { EveryEvaluations = TuneEvery ?? 1 },
        Regularizers = AddedRegularizers is null ? Reg : Reg is null ? AddedRegularizers : $"{Reg},{AddedRegularizers}",
    };

    /// <summary>Regularizers a command's own flags add to <c>--reg</c> (prune's <c>--quantize</c> adds <c>qat</c>), or null.</summary>
    protected virtual string? AddedRegularizers => null;

    /// <summary>The gate <c>--alpha</c> gives (null when it is not given or not valid: <see cref="Errors"/> says why).</summary>
    private RelevanceGate? Gate => Alpha is null ? null : AlphaArgument.Parse("--alpha", Alpha, RelevanceGate.Paper, out _);

    /// <summary>A run of <paramref name="method"/> from <paramref name="defaults"/>, with the given flags over both.</summary>
    public PruningOptions Over(PruningDefaults defaults, string method, MethodSettings? given = null) =>
        OverTraining(defaults.For(method, given ?? GivenMethodSettings));

    /// <summary><paramref name="defaults"/> with the given training flags (not the method's) over them.</summary>
    public virtual PruningOptions OverTraining(PruningOptions defaults) => defaults with
    {
        TestCurve = TestCurve || defaults.TestCurve,
        RegularizedScope = ParameterScopeOr(defaults.RegularizedScope),
        PrunedScope = ParameterScopeOr(defaults.PrunedScope),
        EvalEvery = EvalEvery ?? defaults.EvalEvery,
        Patience = Patience ?? defaults.Patience,
        DenseEpochs = DenseEpochs ?? defaults.DenseEpochs,
        DenseSchedule = Enum.GetValues<LearningRateSchedule>().FirstOrDefault(s => s.Spelling() == DenseSchedule, defaults.DenseSchedule),
        Epochs = Epochs ?? defaults.Epochs,
        BatchSize = BatchSize ?? defaults.BatchSize,
        Optimizer = Optimizer is null && Lr is null && Momentum is null ? defaults.Optimizer
            : OptimizerOptions.Named(Optimizer ?? defaults.Optimizer.Name, Lr ?? defaults.Optimizer.LearningRate, Momentum ?? defaults.Optimizer.MomentumOrNull),
        Seed = Seed ?? defaults.Seed,
    };

    /// <summary>
    /// The first flag that none of the <paramref name="runs"/> takes, as a one-line error naming it, or null: a method
    /// setting no run's method has (<c>--alpha</c> with <c>l2</c>), or <c>--momentum</c> where no optimizer takes one.
    /// </summary>
    public string? FlagNotTaken(IReadOnlyList<PruningOptions> runs)
    {
        var methods = string.Join(", ", runs.Select(r => r.Method.Name).Distinct());
        var notTaken = runs.Select(r => GivenMethodSettings.NotTakenBy(r.Method)).Aggregate((a, b) => a.Intersect(b).ToList());
        if (notTaken.Count > 0) return $"{OptionFlags.Of(notTaken[0])}: {methods} {(runs.Count == 1 ? "takes" : "take")} no such setting";
        if (Momentum is not null && runs.All(r => r.Optimizer.MomentumOrNull is null))
            return $"--momentum: {string.Join(", ", runs.Select(r => r.Optimizer.Name).Distinct())} takes no momentum (sgd, muon, scion and egn do)";
        return null;
    }

    /// <summary>N and M of <c>--pattern N:M</c>, or null when it is not given or not 1 ≤ N &lt; M.</summary>
    private static (int N, int M)? ParsePattern(string? text) =>
        text?.Split(':') is [var n, var m] && int.TryParse(n, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var kept)
            && int.TryParse(m, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var block) && kept >= 1 && kept < block
            ? (kept, block) : null;

    // A number strictly between 0 and 1, or null.
    private static double? ParseFraction(string? text) =>
        double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var value) && value is > 0 and < 1
            ? value : null;

    private string? AlphaError()
    {
        AlphaArgument.Parse("--alpha", Alpha!, RelevanceGate.Paper, out var error);
        return error;
    }

    /// <summary><c>--scope</c> as a parameter scope, or <paramref name="fallback"/> when it is not given.</summary>
    public ParameterScope ParameterScopeOr(ParameterScope fallback) => Scope switch
    {
        null => fallback,
        "weights" => ParameterScope.Weights,
        _ => ParameterScope.WeightsAndBiases,
    };

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        OneOf("--model", Model, ModelFamilies.Names.ToArray()),
        Model is null || ModelFamilies.Names.Contains(Model) ? GivenOptions.Inapplicable(this, ModelName) : null,
        Scope is null or "all" or "weights" ? null : $"--scope: unknown value '{Scope}' (expected all or weights)",
        Alpha is null ? null : AlphaError(),
        OneOf("--signal", Signal, ["minibatch", "average"]),
        OneOf("--decay", Decay, ["coupled", "decoupled"]),
        OneOf("--dense-schedule", DenseSchedule, Enum.GetValues<LearningRateSchedule>().Select(s => s.Spelling()).ToArray()),
        OneOf("--criterion", Criterion, ["magnitude", "snip", "taylor", "movement"]),
        OneOf("--tune", Tune, StrengthTunings.Names.ToArray()),
        TuneEvery is null ? null : Tune is null ? "--tune-every: needs --tune" : TuneEvery < 1 ? $"--tune-every: must be at least 1, got {TuneEvery}" : null,
        Rewind < 0 ? $"--rewind: must be ≥ 0, got {Rewind}" : null,
        MaxSparsity is null or "none" || ParseFraction(MaxSparsity) is not null ? null : $"--max-sparsity: expected none or a number in (0, 1), got '{MaxSparsity}'",
        Pattern is null || ParsePattern(Pattern) is not null ? null : $"--pattern: expected N:M with 1 ≤ N < M, e.g. 2:4, got '{Pattern}'",
        AtLeast("--subset", Subset, ModelDefaults.MinimumSubset(ModelName)),
    ];
}
