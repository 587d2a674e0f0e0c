using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// The user's loop that wrote <c>session.ckpt</c>: the user model under a <see cref="PruningSession"/> (magnitude
/// pruning, crop 30 %) with TorchSharp's Adam, 12 steps on <see cref="FixtureModels.SessionBatch"/>, one evaluation
/// after step 6; the checkpoint is taken after step 12. A session restoring it must be built the same way.
/// </summary>
internal sealed class FixtureSession : IDisposable
{
    public const int EvaluatedAfter = 6;
    public const int CapturedAfter = 12;

    public FixtureSession()
    {
        Model = FixtureModels.UserModel();
        Optimizer = torch.optim.Adam(Model.parameters(), 1e-2);
        Session = new PruningSession(Model, new MagnitudePruning { CropFraction = 0.3 },
            new PruningSessionSettings { Bound = new MetricFloor(0.0), StepsPerEpoch = 10, Patience = 3 });
        Session.Attach(Optimizer);
        Model.train();
    }

    public Sequential Model { get; }

    public torch.optim.Optimizer Optimizer { get; }

    public PruningSession Session { get; }

    /// <summary>One step of the user's loop on batch <paramref name="step"/>.</summary>
    public void Step(int step)
    {
        using var scope = NewDisposeScope();
        var (x, y) = FixtureModels.SessionBatch(step);
        Optimizer.zero_grad();
        nn.functional.cross_entropy(Model.forward(x), y).backward();
        Session.BeforeStep();
        Optimizer.step();
        Session.AfterStep();
    }

    /// <summary>The model's output on <see cref="FixtureModels.UserInput"/> in evaluation mode; the model is left in training mode.</summary>
    public Tensor Output()
    {
        Model.eval();
        using var input = FixtureModels.UserInput();
        using var _ = no_grad();
        var output = Model.forward(input);
        Model.train();
        return output;
    }

    public void Dispose()
    {
        Session.Dispose();
        Model.Dispose();
    }
}
