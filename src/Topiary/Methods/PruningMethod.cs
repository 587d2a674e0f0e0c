using System.Globalization;
using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Pruning.Toolkit;
using Topiary.Regularization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Methods;

/// <summary>
/// A pruning method: the regularizer it trains with, how that regularizer's strength moves, and when and what it
/// prunes. Each method is a type with its own settings (<see cref="RelevancePruning"/>, <see cref="L2Pruning"/>,
/// <see cref="L1Pruning"/>, <see cref="MagnitudePruning"/>, <see cref="LobsterPruning"/>,
/// <see cref="HyperSparsePruning"/>, <see cref="GradualMagnitudePruning"/>); derive from it to add one. A method
/// is a value: a <see cref="Training.PruningSession"/> builds fresh regularizer and schedule objects from it.
/// <see cref="Extra"/> adds further regularizers at constant strengths, and <see cref="Schedule"/> (a recipe's)
/// replaces the method's own pruning schedule.
/// </summary>
public abstract record PruningMethod
{
    /// <summary>The method's name in reports and on the command line.</summary>
    public abstract string Name { get; }

    /// <summary>γ0: the strength of the method's own regularizer right after each pruning event (0 for none).</summary>
    public virtual double Strength => 0;

    /// <summary>Whether the strength falls linearly from γ0 to 0 over one epoch after each pruning event (Bonetta et al.'s schedule).</summary>
    public virtual bool StrengthDecays => false;

    /// <summary>Further regularizers at constant strengths, beside the method's own.</summary>
    public IReadOnlyList<ExtraRegularizer> Extra { get; init; } = [];

    /// <summary>A recipe's schedule that replaces the method's own pruning schedule, or null.</summary>
    public RecipeSchedule? Schedule { get; init; }

    /// <summary>Per-layer sparsity bounds for <see cref="Schedule"/> (a recipe's <c>limits</c>), or null.</summary>
    public LayerLimits? Limits { get; init; }

    /// <summary>
    /// What the schedule ranks entries by when it prunes, the lowest first: |w| (the default, every method's own rule),
    /// or a gradient criterion, SNIP |g·w|, first-order Taylor Σ|g·w| or movement −Σg·w (<see cref="PruningCriterion"/>).
    /// Applies to the method's own schedule and to a recipe's.
    /// </summary>
    public PruningCriterion Criterion { get; init; } = PruningCriterion.Magnitude;

    /// <summary>Global or per-layer ranking for <see cref="Schedule"/>.</summary>
    public RankingScope Ranking { get; init; } = RankingScope.Global;

    /// <summary>
    /// The method's strength tuned on held-out data while it prunes (bilevel hyperparameter optimization: HOAG, #46; the
    /// adaptively inexact method, #34; self-tuning networks, #62): every step then runs with m·γ_t, γ_t the method's
    /// schedule and m the multiplier the tuner learns from the validation loss. Null (the default): the hand-set strength.
    /// </summary>
    public Tuning.StrengthTuning? Tuning { get; init; }

    /// <summary>This method with one more regularizer at a constant strength.</summary>
    public PruningMethod With(string name, Func<GradientRegularizer> create, double strength) =>
        this with { Extra = [.. Extra, new ExtraRegularizer(name, create, strength)] };

    /// <summary>Checks every setting.</summary>
    /// <exception cref="PruningMethodException">A setting is out of range; the message names it.</exception>
    public virtual void Validate()
    {
        Require(Enum.IsDefined(Criterion), nameof(Criterion), $"unknown criterion {(int)Criterion}");
        foreach (var extra in Extra)
            Require(extra.Strength >= 0 && double.IsFinite(extra.Strength), nameof(Extra), $"the strength of '{extra.Name}' must be a finite number ≥ 0, got {extra.Strength}");
        if (Extra.Count(e => e.Create().ReplacesBackward) + (OwnReplacesBackward ? 1 : 0) > 1)
            throw new PruningMethodException(GetType().Name, nameof(Extra), "at most one regularizer may replace the backward pass (sam, amp, fgr)");
        if (Tuning is { } tuning)
        {
            Require(Strength > 0, nameof(Tuning), $"the method's strength is {Format(Strength)}, so there is nothing to tune");
            foreach (var problem in tuning.Problems()) throw new PruningMethodException(GetType().Name, nameof(Tuning), problem);
            // Whether the tuner can work with the method's own regularizer, before any training: one built over a
            // one-entry stand-in model (masks may not be empty), whose kind is all the check reads.
            using var probe = new Parameter(zeros(1));
            using var noMasks = new PruningMasks([("probe", probe)]);
            var tuner = tuning.Create();
            try
            {
                var own = CreateOwnRegularizer(noMasks);
                Require(own is not NoRegularization, nameof(Tuning), "the method has no regularizer, so there is no strength to tune");
                tuner.EnsureSupported(own);
            }
            catch (ArgumentException e) when (e is not PruningMethodException)
            {
                var reason = e.ParamName is null ? e.Message : e.Message.Replace($" (Parameter '{e.ParamName}')", "", StringComparison.Ordinal);
                throw new PruningMethodException(GetType().Name, nameof(Tuning), $"{tuning.Name}: {reason.Split('\n')[0]}");
            }
            finally
            {
                (tuner as IDisposable)?.Dispose();
            }
        }
    }

    /// <summary>
    /// Fresh parts for one session: the regularizer (the method's own, whose strength follows the γ schedule,
    /// combined with <see cref="Extra"/> at constant strengths) and the pruning schedule (<see cref="Schedule"/> when a
    /// recipe gives one, else the method's own).
    /// </summary>
    /// <param name="masks">The masks of the pruned parameters.</param>
    /// <param name="plan">The training the schedule joins.</param>
    /// <exception cref="PruningMethodException">A setting is out of range.</exception>
    public MethodParts Build(PruningMasks masks, PruningPlan plan)
    {
        Validate();
        plan.Validate();
        var own = CreateOwnRegularizer(masks);
        var regularizer = Extra.Count == 0 ? own
            : new CompositeRegularizer(Extra.Select(e => new RegularizerTerm(e.Create(), e.Strength)).Prepend(new RegularizerTerm(own, 1, FollowsSchedule: true)));
        var policy = Schedule?.CreatePolicy(Limits, Ranking) ?? CreateOwnPolicy(plan, own);
        return new MethodParts(regularizer, policy) { Scheduled = own };
    }

    /// <summary>The settings as JSON, in a fixed order: what reports record and what a resumed run must match.</summary>
    public JsonObject Describe()
    {
        var settings = new JsonObject { ["method"] = Name };
        foreach (var (key, value) in Settings()) settings[key] = value;
        // Only a criterion other than |w| is named, so that every method described before criteria existed reads the same.
        if (Criterion != PruningCriterion.Magnitude) settings["criterion"] = Criterion.ToString().ToLowerInvariant();
        if (Extra.Count > 0) settings["extra"] = string.Join(",", Extra.Select(e => e.ToString()));
        if (Schedule is not null) settings["schedule"] = System.Text.Json.JsonSerializer.SerializeToNode(Schedule);
        if (Limits is not null)
            settings["limits"] = string.Join("; ", Limits.Overrides.Select(o => $"{o.Pattern} {Range(o.Limits)}").Prepend($"default {Range(Limits.Default)}"));
        if (Schedule is not null) settings["ranking"] = Ranking.ToString();
        if (Tuning is not null) settings["tuning"] = Tuning.ToString();
        return settings;
    }

    /// <summary>The method's own settings by name, for <see cref="Describe"/>.</summary>
    protected abstract IEnumerable<(string Key, JsonNode? Value)> Settings();

    /// <summary>Builds the method's own regularizer.</summary>
    protected abstract GradientRegularizer CreateOwnRegularizer(PruningMasks masks);

    /// <summary>Builds the method's own pruning schedule over <paramref name="own"/>, its own regularizer.</summary>
    protected abstract PruningPolicy CreateOwnPolicy(PruningPlan plan, GradientRegularizer own);

    /// <summary>Whether the method's own regularizer replaces the backward pass.</summary>
    protected virtual bool OwnReplacesBackward => false;

    /// <summary>Throws a <see cref="PruningMethodException"/> for <paramref name="property"/> unless <paramref name="condition"/> holds.</summary>
    protected void Require(bool condition, string property, string reason)
    {
        if (!condition) throw new PruningMethodException(GetType().Name, property, reason);
    }

    /// <summary>A number as settings record it (shortest round-trip form).</summary>
    protected static JsonNode Number(double value) => JsonValue.Create(value);

    /// <summary>The prunable weight tensors (two or more dimensions): what HyperSparse ranks.</summary>
    protected static IReadOnlyList<Tensor> Weights(PruningMasks masks) =>
        masks.Entries.Where(e => e.Parameter.dim() >= 2).Select(e => (Tensor)e.Parameter).ToList();

    private static string Range(SparsityLimits limits) => $"{Format(limits.Min)}..{Format(limits.Max)}";

    /// <inheritdoc />
    public override string ToString() => Describe().ToJsonString();

    /// <summary>Formats a number as the settings do, for messages.</summary>
    protected static string Format(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
