using Topiary.Regularization;
using static TorchSharp.torch;

namespace Topiary.Tests.Regularization;

public class RegularizerStateTests
{
    private static List<(string Name, Tensor Parameter)> Parameters(int seed) =>
    [
        ("fc1.weight", randn(6, 5, generator: new Generator((ulong)seed)).mul(0.3)),
        ("fc2.weight", randn(3, 6, generator: new Generator((ulong)seed + 1)).mul(0.3)),
    ];

    // Steps of the regularizer alone: gradient step, then projection, on every parameter.
    private static void Steps(GradientRegularizer regularizer, List<(string Name, Tensor Parameter)> parameters, int count)
    {
        for (var i = 0; i < count; i++)
            foreach (var (_, p) in parameters)
            {
                var g = zeros_like(p);
                regularizer.AddGradient(p, g, 0.05);
                p.sub_(g.mul(0.1));
                regularizer.Project(p, g, 1e-2, 0.1);
            }
    }

    [Theory]
    [InlineData("spectral:1,wasserstein:1")]
    [InlineData("scad:1e-2:fista,mcp:1e-2:fista")]
    public void A_regularizer_restored_mid_run_in_a_fresh_instance_continues_bit_identically(string spec)
    {
        using var scope = NewDisposeScope();
        var original = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        var parameters = Parameters(1);
        Steps(original, parameters, 3);
        var state = original.SaveState(parameters);
        Assert.NotEmpty(state);
        Assert.All(state.Keys, k => Assert.Matches(@"^\d\.[a-z]+/fc\d\.weight", k));

        // The copy lives elsewhere (another process would have other tensor handles) and starts from the saved state.
        var copies = parameters.Select(p => (p.Name, p.Parameter.clone())).ToList();
        var restored = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        restored.LoadState(copies, state);
        Steps(original, parameters, 3);
        Steps(restored, copies, 3);
        for (var i = 0; i < parameters.Count; i++)
            Assert.True(parameters[i].Parameter.equal(copies[i].Item2).all().item<bool>(), $"{parameters[i].Name} differs after restore");

        // Without the state the fresh instance would not continue the same way: the test can fail.
        var cold = parameters.Select(p => (p.Name, p.Parameter.clone())).ToList();
        var reference = parameters.Select(p => (p.Name, p.Parameter.clone())).ToList();
        var warm = new CompositeRegularizer(RegularizerSpec.Parse(spec));
        warm.LoadState(reference, original.SaveState(parameters));
        Steps(warm, reference, 1);
        Steps(new CompositeRegularizer(RegularizerSpec.Parse(spec)), cold, 1);
        Assert.Contains(Enumerable.Range(0, cold.Count), i => !cold[i].Item2.equal(reference[i].Item2).all().item<bool>());
    }

    [Fact]
    public void State_for_unknown_parameters_or_of_the_wrong_shape_is_refused()
    {
        using var scope = NewDisposeScope();
        var spectral = new SpectralRegularization();
        var parameters = Parameters(2);
        Steps(spectral, parameters, 1);
        var state = spectral.SaveState(parameters);
        Assert.Contains("does not have", Assert.Throws<ArgumentException>(() => spectral.LoadState(parameters.Take(1).ToList(), state)).Message);
        var wrong = new Dictionary<string, Tensor>(state) { ["fc1.weight"] = zeros(4) };
        Assert.Contains("shape", Assert.Throws<ArgumentException>(() => spectral.LoadState(parameters, wrong)).Message);
        Assert.Contains("keeps none", Assert.Throws<ArgumentException>(() => new SoftOrthonormality().LoadState(parameters, state)).Message);
    }
}
