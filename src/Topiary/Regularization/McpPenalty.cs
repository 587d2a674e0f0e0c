using static TorchSharp.torch;
using Topiary.Backend;

namespace Topiary.Regularization;

/// <summary>
/// The minimax concave penalty of Zhang, "Nearly unbiased variable selection under minimax concave penalty"
/// (Annals of Statistics 2010), applied as its proximal operator after each step (seed paper #63 uses it with
/// SCAD). With λ = strength and b &gt; 0: p(x) = λ|x| − x²/(2b) for |x| ≤ bλ, bλ²/2 beyond. Its prox with
/// step η (needs b &gt; η) is firm thresholding: 0 for |z| ≤ ηλ; sign(z)(|z| − ηλ)/(1 − η/b) for ηλ &lt; |z| ≤ bλ; z beyond.
/// With <c>accelerated</c>, FISTA's extrapolation follows each prox (<see cref="ProximalPenalty"/>; <c>--reg mcp:λ:fista</c>).
/// </summary>
public sealed class McpPenalty : ProximalPenalty
{
    /// <summary>Creates the penalty with concavity <paramref name="b"/> (Zhang uses values near 3); <paramref name="accelerated"/> adds FISTA's extrapolation.</summary>
    public McpPenalty(double b = 3.0, bool accelerated = false) : base(accelerated)
    {
        if (!(b > 0)) throw new ArgumentOutOfRangeException(nameof(b), b, $"MCP needs b > 0, got {b}");
        B = b;
    }

    /// <summary>b.</summary>
    public double B { get; }

    /// <inheritdoc />
    public override string Name => "mcp";

    /// <inheritdoc />
    public override void Prox(Tensor weight, double strength, double stepSize)
    {
        if (!(B > stepSize)) throw new InvalidOperationException($"the MCP prox needs b > step size (b = {B}, step {stepSize})");
        using var scope = NewDisposeScope();
        using var _ = no_grad();
        var z = weight.detach();
        var magnitude = z.abs();
        var firm = magnitude.sub(HeldScalar.Of(stepSize * strength)).clamp_min(HeldScalar.Of(0)).div(HeldScalar.Of(1 - stepSize / B)).mul(z.sign());
        weight.copy_(where(magnitude.le(HeldScalar.Of(B * strength)), firm, z));
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var x = weight.abs();
        var inner = x.mul(HeldScalar.Of(strength)).sub(x.square().div(HeldScalar.Of(2 * B)));
        return where(x.le(HeldScalar.Of(B * strength)), inner, ones_like(x).mul(HeldScalar.Of(B * strength * strength / 2))).sum();
    }
}
