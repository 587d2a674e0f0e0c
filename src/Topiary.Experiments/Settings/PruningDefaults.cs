namespace Topiary.Experiments;

/// <summary>
/// What a run starts from before its method is known: the training settings, and the method settings that apply to
/// whichever method is chosen (a model's crop fraction, say). <see cref="PruningMethods.Create"/> makes a run of one
/// method from them.
/// </summary>
/// <param name="Options">Training, bound and evaluation settings (its method is replaced).</param>
/// <param name="Method">Method settings under the method's own defaults and the user's.</param>
public sealed record PruningDefaults(PruningOptions Options, MethodSettings Method)
{
    /// <summary>
    /// Topiary's demo settings: <see cref="PruningOptions"/>' defaults, and γ0 = 1e-3, α = 1, γ decay, t = 0.08, target
    /// sparsity 0.9, twt 0.05, pwe 1 and growth 2 for whichever method takes them.
    /// </summary>
    public static PruningDefaults Demo { get; } = new(new PruningOptions(), new MethodSettings
    {
        Gamma = 1e-3, Alpha = 1, GammaDecay = true, CropFraction = 0.08, TargetSparsity = 0.9, Twt = 0.05, Pwe = 1, Growth = 2,
    });

    /// <summary>The authors' LeNet-5/Fashion-MNIST settings (<see cref="PruningOptions.Paper"/>), t = 0.04 for every iterative method.</summary>
    public static PruningDefaults Paper { get; } = new(PruningOptions.Paper, Demo.Method with { CropFraction = 0.04 });

    /// <summary>A run of <paramref name="method"/> from these defaults (<see cref="PruningMethods.Create"/>).</summary>
    public PruningOptions For(string method, MethodSettings? given = null) => PruningMethods.Create(method, this, given);
}
