using Topiary.Language;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Settings;

/// <summary>
/// The defaults that depend on the model (and on the command): the one place a flag left unset gets its value.
/// The help states them in the flags' descriptions ("default: per model").
/// </summary>
internal static class ModelDefaults
{
    public const string DataDirectory = "/usr/share/datasets/fashion-mnist";

    public const string PruneModel = "lenet5";

    public const string CompareModel = "lenet300";

    /// <summary>Held-out pairs of each of validation and test, unless set.</summary>
    public const int HeldOutPairs = 500;

    /// <summary>Test pairs BLEU translates in <c>prune</c> and <c>eval</c>, unless set.</summary>
    public const int BleuPairs = 500;

    /// <summary>Test pairs each run's BLEU translates in <c>compare</c>, unless set.</summary>
    public const int CompareBleuPairs = 200;

    /// <summary>
    /// The budget of an image comparison with no flags: LeNet-300-100 on Fashion-MNIST, 3 seeds × 7 methods, one dense
    /// model per seed shared by the methods; measured at about 15 minutes on 2 idle cores, within the 30 we allow.
    /// Twelve pruning epochs let the iterative methods prune until the floor stops them (with six, they cropped at
    /// every evaluation and the evaluation count decided how far they got). The floor suits LeNet-300-100, whose dense
    /// test accuracy after 3 epochs is about 87%; gmp and hypersparse aim at 98% sparsity.
    /// </summary>
    private static readonly PruningDefaults ImageComparison = new(
        new PruningOptions { DenseEpochs = 3, Epochs = 12, Floor = 0.87, Patience = 25 }, PruningDefaults.Demo.Method with { TargetSparsity = 0.98 });

    /// <summary>
    /// The budget of a language-model comparison with no flags: the model's own defaults on the first
    /// 1,000,000 characters (212 steps per epoch), two dense epochs per seed and two pruning epochs per method,
    /// evaluated every 25 batches: up to 17 crops of 15%, enough for the ceiling rather than the budget to stop the
    /// methods. 4 methods × 2 seeds are 4,240 steps plus about 300 evaluations (each about 2.6 steps' worth): an
    /// estimate of 20 minutes on 2 idle cores (README).
    /// </summary>
    private static readonly PruningDefaults LanguageModelComparison = LanguageModelSubject.Defaults with
    {
        Options = LanguageModelSubject.Defaults.Options with { DenseEpochs = 2, Epochs = 2, EvalEvery = 25 },
    };

    /// <summary>
    /// The budget of a translation comparison with no flags: the translation defaults on the first 8,000 fitting
    /// pairs (7,000 training pairs, 218 steps per epoch), three dense epochs per seed and one pruning epoch per method
    /// evaluated every 25 batches (README: measured time).
    /// </summary>
    private static readonly PruningDefaults TranslationComparison = TranslationSubject.Defaults with
    {
        Options = TranslationSubject.Defaults.Options with { DenseEpochs = 3, Epochs = 1, EvalEvery = 25 },
    };

    /// <summary>
    /// Where the demo of <c>prune</c> on the image models stops cropping: 2 % of the prunable parameters left. Without a
    /// stop the demo pruned until validation sat at the floor (0.4–0.6 % left), and test accuracy landed 0.4–1.2 points
    /// under it, below 0.89 on two of three seeds; with it, seeds 1234, 5246 and 7567 keep test accuracy above the dense
    /// model's (docs/method.md, "The default run").
    /// </summary>
    public const double DemoMaxSparsity = 0.98;

    private static readonly PruningDefaults ImageDemo = PruningDefaults.Demo with
    {
        Method = PruningDefaults.Demo.Method with { MaxSparsity = DemoMaxSparsity },
    };

    /// <summary>The options <c>prune</c> starts from, before the method's own defaults and the flags.</summary>
    /// <param name="model">The model's CLI name.</param>
    /// <param name="preset">demo or paper.</param>
    /// <param name="demoStops">Whether the image demo stops at <see cref="DemoMaxSparsity"/>; false for runs started before it did (run.json version 1).</param>
    public static PruningDefaults Prune(string model, string preset, bool demoStops = true) => ModelFamilies.Of(model) switch
    {
        ModelFamily.LanguageModel => LanguageModelSubject.Defaults,
        ModelFamily.Translation => TranslationSubject.Defaults,
        _ => preset == "paper" ? PruningDefaults.Paper : demoStops ? ImageDemo : PruningDefaults.Demo,
    };

    /// <summary>The options <c>compare</c> starts every method from, before its own defaults and the flags.</summary>
    public static PruningDefaults Compare(string model) => ModelFamilies.Of(model) switch
    {
        ModelFamily.LanguageModel => LanguageModelComparison,
        ModelFamily.Translation => TranslationComparison,
        _ => ImageComparison,
    };

    /// <summary>The methods a comparison with no <c>--methods</c> runs, flagship first.</summary>
    public static string Methods(string model) =>
        ModelFamilies.Of(model) == ModelFamily.Image ? "relevance,l2,l1,none,lobster,gmp,hypersparse" : string.Join(",", LanguageModelSubject.SupportedMethods);

    /// <summary>
    /// What <c>--methods all</c> compares: the default methods and every competing one (N:M, neuron pruning, RigL, SET
    /// beside LOBSTER, HyperSparse and gmp) for the image models; the supported four for the transformers. The
    /// catalogue's regularizers join by name or as +terms.
    /// </summary>
    public static string AllMethods(string model) =>
        ModelFamilies.Of(model) == ModelFamily.Image ? string.Join(",", Methods(model).Split(',').Concat(PruningMethods.Competing).Distinct()) : Methods(model);

    /// <summary>Seeds per method of a comparison.</summary>
    public static int Seeds(string model) => ModelFamilies.Of(model) == ModelFamily.Image ? 3 : 2;

    /// <summary>What a comparison uses of the data unless <c>--subset</c> is given: the first million characters, the first 8,000 fitting pairs, or all images.</summary>
    public static int? CompareSubset(string model) => ModelFamilies.Of(model) switch
    {
        ModelFamily.LanguageModel => 1_000_000,
        ModelFamily.Translation => 8_000,
        _ => null,
    };

    /// <summary>The smallest <c>--subset</c>: enough images for a validation split, or one character or pair.</summary>
    public static int MinimumSubset(string model) => ModelFamilies.Of(model) == ModelFamily.Image ? 20 : 1;
}
