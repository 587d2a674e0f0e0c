using Topiary.Quantization;

namespace Topiary.Regularization;

/// <summary>One entry of the regularizer catalogue: CLI name, factory, default strength and what the strength means.</summary>
/// <param name="Name">The CLI name.</param>
/// <param name="Create">Builds a fresh instance (regularizers may keep per-tensor state) from the spec's <c>key=value</c> parameters.</param>
/// <param name="DefaultStrength">Strength used when the spec gives none.</param>
/// <param name="StrengthMeaning">What the number after the colon sets.</param>
/// <param name="Parameters">The keys <paramref name="Create"/> reads, each described in <see cref="RegularizerLibrary"/>'s table.</param>
public sealed record RegularizerEntry(string Name, Func<IReadOnlyDictionary<string, double>, GradientRegularizer> Create, double DefaultStrength,
    string StrengthMeaning, IReadOnlyList<string> Parameters)
{
    /// <summary>An entry without parameters.</summary>
    public RegularizerEntry(string name, Func<GradientRegularizer> create, double defaultStrength, string strengthMeaning)
        : this(name, _ => create(), defaultStrength, strengthMeaning, Array.Empty<string>()) { }

    /// <summary>The largest strength that makes sense (qat's share of noise is at most 1), or null for no bound.</summary>
    public double? MaxStrength { get; init; }

    /// <summary>Whether the strength must stay below <see cref="MaxStrength"/> rather than reach it (mixout's p &lt; 1).</summary>
    public bool MaxStrengthExcluded { get; init; }

    /// <summary>An instance with every parameter at its default.</summary>
    public GradientRegularizer CreateDefault() => Create(new Dictionary<string, double>());
}

/// <summary>
/// The regularizers of the seed-paper catalogue (issue 5), beside the flagship's own in <see cref="RegularizerCatalog"/>.
/// Parameters of the spec (<c>name:strength:key=value</c>): <c>gor</c> takes <c>groups</c> (G, default 4) and
/// <c>cross</c> (β of the across-groups term, default 0); <c>scad</c> takes <c>a</c> (3.7), <c>mcp</c> takes
/// <c>b</c> (3), and both take <c>fista</c> (1: accelerated proximal steps, <see cref="AcceleratedProximalStep"/>);
/// <c>cs</c> (<see cref="CauchySchwarzQuantization"/>, seed paper #9) takes <c>levels</c> (2: binary grid, 3: ternary,
/// default 3) and <c>normalized</c> (1, the default: scale-invariant ℓ/‖x‖₂⁴ resp. ℓ/‖x‖₄⁸; 0: the paper's ℓ);
/// <c>qat</c> (<see cref="QuantizationAwareTraining"/>, seed paper #111) takes <c>bits</c> (8) and <c>channel</c> (1: a
/// scale per output channel, 0: one per tensor); <c>elbo</c> (<see cref="DataEmphasizedElbo"/>, seed paper #10, strength λ
/// multiplies the KL, 1 = the paper's objective) takes <c>emphasis</c> (E = κN, the data term's weight times the number of
/// examples; default D, the number of regularized weights, i.e. the paper's κ = D/N), <c>center</c> (1: prior mean μ₀ = the
/// weights at the first step, for fine-tuning; 0, the default: μ₀ = 0), <c>std</c> (s₀, the initial posterior standard
/// deviation, default 1e-3), <c>lr</c> (learning rate of ρ's optimizer, default 1e-2), <c>sgd</c> (1: plain gradient
/// descent on ρ; 0, the default: Adam) and <c>seed</c> (of the noise ε, default 0). The fine-tuning regularizers train
/// factors of each weight matrix in place of it, starting from the weights of the first step (<c>prune --from</c>), with
/// their own Adam: <c>sorsa</c> (<see cref="SorsaFineTuning"/>, seed paper #104) takes <c>rank</c> (r, default 4) and
/// <c>lr</c> (the factors' learning rate, default 1e-3); <c>qgoft</c> (<see cref="QuasiGivensFineTuning"/>, seed paper #50)
/// takes <c>lr</c> (default 1e-3). <c>pskd</c>
/// (<see cref="ProgressiveSelfDistillation"/>, seed paper #59, strength α_T ≤ 1, default 0.8) takes none; <c>groupdro</c>
/// (<see cref="GroupDro"/>, seed paper #93, strength λ ∈ [0, 1] from ERM to GroupDRO over the classes) takes <c>eta</c>
/// (η_q, the step size of the group weights, default 0.01). <c>mixout</c> (<see cref="Mixout"/>, seed
/// paper #84; its strength is the probability p &lt; 1 of replacing a weight by its pretrained value) takes <c>seed</c> (of the
/// masks, default 0). <c>sara</c> (<see cref="SparseLowRankAdaptation"/>, seed paper #76; its strength is γ of the nuclear norm)
/// takes <c>fraction</c> (F, the share of each tensor trained, the smallest |w|; default 0.1) and <c>reselect</c> (the step at
/// which the trainable set is chosen again from the current weights; default 0: never). <c>nc</c>
/// (<see cref="NeuralCollapseRegularizer"/>, seed paper #57) takes <c>between</c> (β, the weight of the class means'
/// equiangularity term against the within-class term, default 1); <c>elle</c> (<see cref="LocalLinearityRegularizer"/>, seed
/// paper #52) takes <c>eps</c> (ε, the ℓ∞ radius in the inputs' units, default 0.0889 = 8/255 of the pixel range on
/// Fashion-MNIST standardized by σ ≈ 0.353) and <c>seed</c> (of the points and α, default 0); <c>tregs</c>
/// (<see cref="MinimumSpanningTreeRegularizer"/>, seed paper #83) takes <c>sphere</c> (β, the weight of the soft unit-sphere
/// constraint, default 1). <c>lawn</c> (<see cref="LogitAttenuatingWeightNormalization"/>, seed paper #38; its strength
/// λ ≤ 1 is the share of the projection, 1 = the paper's) takes <c>free</c> (E_free, the pruning phase's epochs before the
/// norms are frozen, default 1). <c>cond</c> (<see cref="ConditionNumberPenalty"/>, a penalty with the aim of seed paper #114, not its method) takes none.
/// <c>gam</c> (<see cref="GradientNormAwareMinimization"/>, seed paper #17; strength α) takes <c>rho</c>
/// (ρ, the radius of the first-order flatness, default 0.05) and <c>h</c> (the finite-difference step of its Hessian–vector
/// products, default 0.01); <c>ridg</c> (<see cref="RationaleInvarianceLoss"/>, seed paper #12) takes <c>momentum</c> (m ∈ (0, 1],
/// the weight of a batch's mean rationale in its class's running mean, default 0.1); <c>jacnuc</c>
/// (<see cref="JacobianNuclearNormRegularizer"/>, seed paper #2) takes <c>sigma</c> (σ of the input noise, in the inputs' units,
/// default 0.1), <c>samples</c> (noise draws per example, default 1) and <c>seed</c> (of the noise, default 0); <c>arow</c>
/// (<see cref="RobustnessWeightedAdversarialRegularizer"/>, seed paper #21) takes <c>eps</c> (ε, the attack's ℓ∞ radius in the
/// inputs' units, default 0.0889 as for <c>elle</c>), <c>steps</c> (K, the attack's steps, default 3; the paper's 10),
/// <c>smoothing</c> (s ∈ [0, 1), the label smoothing of the clean cross-entropy, default 0.2; not scaled by λ) and <c>seed</c>
/// (of the attack's starting noise, default 0). <c>aqc</c> (<see cref="QuadraticConsolidation"/>, seed paper #107) takes none; it refuses classifier heads of more than
/// <see cref="QuadraticConsolidation.MaxHeadParameters"/> parameters.
/// <c>nested</c> (<see cref="NestedDropout"/>, seed paper #68; its strength is p ≤ 1 of the geometric truncation index) takes
/// <c>seed</c> (of the truncation indices, default 0).
/// <c>lv</c> (<see cref="LeastVolume"/>, seed paper #108) takes <c>eta</c> (η added to every standard deviation, default 1) and
/// <c>lipschitz</c> (1, the default: the volume of the features scaled by the head's spectral norm; 0: the paper's on the features).
/// <c>gram</c> (<see cref="GramianInvariancePenalty"/>, after seed paper #55; formula derived from the abstract) takes <c>ridge</c>
/// (ε relative to the mean eigenvalue of each environment's Gramian, &gt; 0, default 1e-2); its environments are the classes.
/// <c>mlip</c> (<see cref="ManifoldLipschitzRegularizer"/>, seed paper #27) takes <c>k</c> (the neighbours of each example in the
/// batch's input graph, default 5), <c>eta</c> (η, the step of the duals relative to ρ and of log ρ, default 0.1) and
/// <c>softmax</c> (1, the default: f is the softmax of the outputs; 0: the outputs themselves).
/// <c>wcond</c> (<see cref="WeightConditioning"/>, seed paper #114; its strength λ ≤ 1 is the share of the conditioning, 1 = the
/// paper's layer) takes <c>rows</c> (1, the default: row equilibration) and <c>columns</c> (1: column equilibration, after the
/// rows' if both are 1; default 0). <c>compander</c> (<see cref="WeightCompander"/>, seed paper #23; its strength λ ≤ 1 is the share
/// of the compander, 1 = the paper's) takes <c>a</c> (the bound's scale, |w| &lt; a·π/2; default 1), <c>b</c> (the stretch along v;
/// default 0.6, the paper's ResNet-18 CIFAR-10 pair with a = 1) and <c>adaptive</c> (1: the optimizer steps on ∂L/∂w and its step is
/// multiplied by ∂φ/∂v, the paper's remedy for Adam; default 0).
/// </summary>
public static class RegularizerLibrary
{
    /// <summary>The entries, in the order of docs/regularizers.md.</summary>
    public static IReadOnlyList<RegularizerEntry> Entries { get; } = new RegularizerEntry[]
    {
        new("elastic", () => new ElasticNet(), 1e-4, "γ of γ(ρ‖w‖₁ + (1−ρ)‖w‖²), ρ = 0.5"),
        new("group", () => new GroupLasso(), 1e-3, "γ of γ·Σ√p_g‖W_g‖₂ over rows/filters"),
        new("scad", a => new ScadPenalty(a.GetValueOrDefault("a", 3.7), Switch(a, "fista")), 1e-2, "λ of SCAD", ["a", "fista"]),
        new("mcp", a => new McpPenalty(a.GetValueOrDefault("b", 3.0), Switch(a, "fista")), 1e-2, "λ of MCP", ["b", "fista"]),
        new("gor", a => new GroupOrthogonality(Whole(a, "groups", 4), a.GetValueOrDefault("cross", 0)), 1e-4,
            "γ of γ·(Σ_g‖W_gW_gᵀ − I‖² + β·Σ_j‖S_jS_jᵀ − I‖²)", ["groups", "cross"]),
        new("so", () => new SoftOrthonormality(), 1e-4, "γ of γ·‖WWᵀ − I‖²"),
        new("orth", () => new SoftOrthonormality(), 1e-4, "same as so"),
        new("convorth", () => new ConvOrthogonality(), 1e-4, "γ of γ·‖conv(K,K) − I‖²"),
        new("spectral", () => new SpectralRegularization(), 1e-3, "γ of γ·(σ_max² − 1)²"),
        new("wasserstein", () => new WassersteinInitRegularization(), 1e-3, "γ of γ·‖sort(θ) − sort(θ₀)‖²"),
        new("normloss", () => new NormLoss(), 1e-3, "γ of γ·Σ(1 − ‖w_i‖)²"),
        new("cs", a => new CauchySchwarzQuantization(Whole(a, "levels", 3), Switch(a, "normalized", fallback: true)), 1e-3,
            "γ of γ·Σ_i ℓ(w_i), ℓ_bin = N‖x‖₄⁴ − ‖x‖₂⁴ or ℓ_ter = ‖x‖₂²‖x‖₆⁶ − ‖x‖₄⁸, divided by ‖x‖₂⁴ resp. ‖x‖₄⁸ when normalized",
            ["levels", "normalized"]),
        new("clip", () => new GradientNormClipping(), 1.0, "τ, the global gradient-norm threshold"),
        new("vanishing", () => new VanishingGradientRegularizer(), 1e-2, "γ of γ·Σ_k mean_batch(‖δ_{k+1}ᵀJ_k‖/‖δ_{k+1}‖ − 1)²"),
        new("fgr", () => new FiniteDifferenceGradientRegularization(), 1e-2, "γ of L + (γ/2)‖∇L‖² (h = 0.1)"),
        new("sam", () => new SharpnessAwareMinimization(), 5e-2, "ρ, the perturbation radius"),
        new("amp", () => new AdversarialModelPerturbation(), 5e-2, "ε, the perturbation radius (K = 2, ζ = ε)"),
        new("flops", () => new FlopsRegularizer(), 1e-3, "γ of γ·Σ_layers Σ_j(mean_i|a_ij|)²"),
        new("qat", a => new QuantizationAwareTraining(Scheme(a)), 1.0,
            "λ, the share of quantization noise in w + λ(Q(w) − w) (1: plain fake quantization)", ["bits", "channel"]) { MaxStrength = 1 },
        new("elbo", a => new DataEmphasizedElbo(a.TryGetValue("emphasis", out var e) ? e : null, Switch(a, "center"), a.GetValueOrDefault("std", 1e-3),
                a.GetValueOrDefault("lr", 1e-2), Switch(a, "sgd") ? PosteriorStdOptimizer.Sgd : PosteriorStdOptimizer.Adam, (ulong)Whole(a, "seed", 0, minimum: 0)), 1.0,
            "λ of L(m + s⊙ε) + λ·KL(N(m, s²) ‖ N(μ₀, τ²))/E, τ² learned in closed form (1: the paper's objective)",
            ["emphasis", "center", "std", "lr", "sgd", "seed"]),
        new("sorsa", a => new SorsaFineTuning(Whole(a, "rank", 4, minimum: 1), a.GetValueOrDefault("lr", 1e-3)), 1e-3,
            "γ of γ·(‖U_pᵀU_p − I‖² + ‖V_pᵀV_p − I‖²); W = W_r + U_p diag(σ_p) V_pᵀ, the rank-r factors trained in place of W",
            ["rank", "lr"]),
        new("qgoft", a => new QuasiGivensFineTuning(a.GetValueOrDefault("lr", 1e-3)), 1e-3,
            "γ of γ·Σ_k‖g_kᵀg_k − I‖²; W = W₀·R, R a product of d − 1 free 2 × 2 blocks trained in place of W", ["lr"]),
        new("pskd", () => new ProgressiveSelfDistillation(), 0.8,
            "α_T of the target (1 − α_t)·y + α_t·p_{t−1}, α_t = α_T·t/T, p_{t−1} the previous epoch's model's prediction") { MaxStrength = 1 },
        new("groupdro", a => new GroupDro(a.GetValueOrDefault("eta", 0.01)), 1.0,
            "λ of (1 − λ)·L + λ·Σ_g q_g·L_g over the classes, q_g ← q_g·exp(η·L_g) (0: ERM, 1: GroupDRO)", ["eta"]) { MaxStrength = 1 },
        new("mixout", a => new Mixout((ulong)Whole(a, "seed", 0, minimum: 0)), 0.1,
            "p, the probability of replacing a weight by its pretrained value in ((1 − M)w + Mu − pu)/(1 − p)", ["seed"]) { MaxStrength = 1, MaxStrengthExcluded = true },
        new("sara", a => new SparseLowRankAdaptation(a.GetValueOrDefault("fraction", 0.1), Whole(a, "reselect", 0, minimum: 0)), 1e-3,
            "γ of γ·Σ‖W − U‖_* over the update of the trained smallest-|U| entries", ["fraction", "reselect"]),
        new("nc", a => new NeuralCollapseRegularizer(Number(a, "between", 1, positive: false)), 1e-2,
            "λ of λ·(L_W + β·L_B) on the penultimate features: within-class variability tr(Σ_W)/tr(Σ_B) and the class means' distance from a simplex ETF",
            ["between"]),
        new("elle", a => new LocalLinearityRegularizer(Number(a, "eps", LocalLinearityRegularizer.DefaultRadius, positive: true), (ulong)Whole(a, "seed", 0, minimum: 0)), 100,
            "λ of λ·mean_i(ℓ(x_c) − αℓ(x_a) − (1−α)ℓ(x_b))², x_a, x_b in the ℓ∞ ball of radius ε", ["eps", "seed"]),
        new("tregs", a => new MinimumSpanningTreeRegularizer(Number(a, "sphere", 1, positive: false)), 1e-2,
            "λ of λ·(−E(MST(H))/B + β·mean_i(‖h_i‖ − 1)²) on the penultimate features", ["sphere"]),
        new("lawn", a => new LogitAttenuatingWeightNormalization(Whole(a, "free", 1, minimum: 0)), 1.0,
            "λ of W ← W·(1 − λ + λ·c/‖W‖) after every step once the free epochs are over, c = ‖W‖ when they end (1: the paper's projection)",
            ["free"]) { MaxStrength = 1 },
        new("cond", () => new ConditionNumberPenalty(), 1e-3, "γ of γ·Σ log(σ_max/σ_min) over weight matrices and kernels"),
        new("gam", a => new GradientNormAwareMinimization(Number(a, "rho", 0.05, positive: true), Number(a, "h", 0.01, positive: true)), 0.1,
            "α of L + α·ρ·max_{‖δ‖≤ρ}‖∇L(θ + δ)‖, one ascent step along ∇‖∇L‖, Hessian–vector products by finite differences", ["rho", "h"]),
        new("ridg", a => new RationaleInvarianceLoss(Number(a, "momentum", 0.1, positive: true)), 1e-2,
            "λ of λ·Σ_k (1/(n_k·C))·Σ_{y_i=k}‖W⊙h_i − M_k‖²_F, M_k the class's running mean rationale", ["momentum"]),
        new("jacnuc", a => new JacobianNuclearNormRegularizer(Number(a, "sigma", 0.1, positive: true), Whole(a, "samples", 1, minimum: 1), (ulong)Whole(a, "seed", 0, minimum: 0)), 1e-3,
            "λ of λ·½(‖W_head‖²_F + E‖h(x + σε) − h(x)‖²/σ²), a bound on the Jacobian nuclear norm, h the penultimate features", ["sigma", "samples", "seed"]),
        new("arow", a => new RobustnessWeightedAdversarialRegularizer(Number(a, "eps", LocalLinearityRegularizer.DefaultRadius, positive: true),
                Whole(a, "steps", RobustnessWeightedAdversarialRegularizer.DefaultSteps, minimum: 1),
                Number(a, "smoothing", RobustnessWeightedAdversarialRegularizer.DefaultSmoothing, positive: false), (ulong)Whole(a, "seed", 0, minimum: 0)), 7.0,
            "λ of λ·mean_i(1 − p_y(x̂_i))·KL(p(x_i) ‖ p(x̂_i)), x̂ by K PGD steps in the ℓ∞ ball of radius ε, plus label smoothing s on the clean cross-entropy",
            ["eps", "steps", "smoothing", "seed"]),
        new("aqc", () => new QuadraticConsolidation(), 1.0,
            "λ of λ·(½(θ − θ*)ᵀH(θ − θ*) + g*ᵀ(θ − θ*)) on the classifier head, θ*, H, g* of the cross-entropy at the first step's weights and batch"),
        new("nested", a => new NestedDropout((ulong)Whole(a, "seed", 0, minimum: 0)), 0.1,
            "p of b ~ Geometric(p) per example, the penultimate features of index > b zeroed in training steps (feature j kept with probability (1 − p)^j)",
            ["seed"]) { MaxStrength = 1 },
        new("lv", a => new LeastVolume(Number(a, "eta", 1, positive: true), Switch(a, "lipschitz", fallback: true)), 1e-2,
            "λ of λ·exp(mean_i log(σ_i + η)), σ_i the batch standard deviation of penultimate feature i (times ‖W_head‖₂ with lipschitz=1)",
            ["eta", "lipschitz"]),
        new("gram", a => new GramianInvariancePenalty(Number(a, "ridge", GramianInvariancePenalty.DefaultRidge, positive: true)), 1e-3,
            "λ of λ·mean_e‖∇_W R^e·(G_e + εI)⁻¹‖²_F over the environments (the classes), G_e = E_e[φφᵀ], φ = (h, 1), ε = ridge·tr(G_e)/k; our derivation from the abstract",
            ["ridge"]),
        new("mlip", a => new ManifoldLipschitzRegularizer(Whole(a, "k", 5, minimum: 1), Number(a, "eta", 0.1, positive: true), Switch(a, "softmax", fallback: true)), 1.0,
            "γ of γ·(1/B)Σ_i λ_i·mean_{j∈kNN(i)}‖f_i − f_j‖²/‖x_i − x_j‖² on the batch's input graph, λ_i ← [λ_i + η(g_i/ρ − 1)]₊ per example, g_i its largest ratio, ρ ← ρ·e^{−η(1 − mean λ)}",
            ["k", "eta", "softmax"]),
        new("wcond", a => new WeightConditioning(Equilibrations(a)), 1.0,
            "λ of W' = (1 − λ)·W + λ·D·W·E, D = diag(1/‖W_i:‖₂) and/or E = diag(1/‖W_:j‖₂) (row/column equilibration), W trained through W' (1: the paper's layer)",
            ["rows", "columns"]) { MaxStrength = 1 },
        new("compander", a => new WeightCompander(Number(a, "a", 1.0, positive: true), Number(a, "b", 0.6, positive: true), Switch(a, "adaptive")), 1.0,
            "λ of w = (1 − λ)·v + λ·a·arctan(v/b), v trained in place of each weight, |w| < a·π/2 at λ = 1 (1: the paper's compander)",
            ["a", "b", "adaptive"]) { MaxStrength = 1 },
    };

    /// <summary>The CLI names.</summary>
    public static IReadOnlyList<string> Names { get; } = Entries.Select(e => e.Name).ToArray();

    /// <summary>The entry called <paramref name="name"/>, or null.</summary>
    public static RegularizerEntry? Find(string name) => Entries.FirstOrDefault(e => e.Name == name);

    private static int Whole(IReadOnlyDictionary<string, double> arguments, string key, int fallback, int minimum = int.MinValue)
    {
        var value = arguments.GetValueOrDefault(key, fallback);
        return value == Math.Floor(value) && value >= minimum && value <= int.MaxValue
            ? (int)value
            : throw new ArgumentOutOfRangeException(key, value, $"{key} must be a whole number{(minimum > int.MinValue ? $" ≥ {minimum}" : "")}, got {value}");
    }

    private static double Number(IReadOnlyDictionary<string, double> arguments, string key, double fallback, bool positive)
    {
        var value = arguments.GetValueOrDefault(key, fallback);
        return double.IsFinite(value) && (positive ? value > 0 : value >= 0)
            ? value
            : throw new ArgumentOutOfRangeException(key, value, $"{key} must be a number {(positive ? "> 0" : "≥ 0")}, got {value}");
    }

    private static Equilibration Equilibrations(IReadOnlyDictionary<string, double> arguments) =>
        (Switch(arguments, "rows", fallback: true), Switch(arguments, "columns")) switch
        {
            (true, false) => Equilibration.Rows,
            (false, true) => Equilibration.Columns,
            (true, true) => Equilibration.RowsThenColumns,
            _ => throw new ArgumentOutOfRangeException("rows", 0.0, "rows and columns cannot both be 0: weight conditioning needs one of them"),
        };

    private static QuantizationScheme Scheme(IReadOnlyDictionary<string, double> arguments)
    {
        var bits = Whole(arguments, "bits", 8);
        if (bits is < 2 or > 8) throw new ArgumentOutOfRangeException("bits", bits, $"bits must be 2 to 8, got {bits}");
        return new QuantizationScheme(bits, Switch(arguments, "channel", fallback: true) ? QuantizationGranularity.PerChannel : QuantizationGranularity.PerTensor);
    }

    private static bool Switch(IReadOnlyDictionary<string, double> arguments, string key, bool fallback = false) =>
        arguments.GetValueOrDefault(key, fallback ? 1 : 0) switch
        {
            0 => false,
            1 => true,
            var other => throw new ArgumentOutOfRangeException(key, other, $"{key} must be 0 or 1, got {other}"),
        };
}
