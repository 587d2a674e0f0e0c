using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Regularization;

/// <summary>
/// Several regularizers combined with weights, R = Σ λ_i·R_i (as <c>--reg spectral:1e-3,orth:1e-4</c>).
/// Each term acts on the tensors its own <see cref="GradientRegularizer.AppliesTo"/> selects. Gradients,
/// loss penalties and projections add up in the order given; at most one term may replace the backward pass
/// (two perturbation schemes cannot share one gradient).
/// </summary>
public sealed class CompositeRegularizer : GradientRegularizer
{
    /// <summary>Combines <paramref name="terms"/>.</summary>
    /// <exception cref="ArgumentException">No term, or more than one term that replaces the backward pass.</exception>
    public CompositeRegularizer(IEnumerable<RegularizerTerm> terms)
    {
        Terms = terms.ToList();
        if (Terms.Count == 0) throw new ArgumentException("a composite needs at least one regularizer", nameof(terms));
        var replacing = Terms.Where(t => t.Regularizer.ReplacesBackward).Select(t => t.Regularizer.Name).ToList();
        if (replacing.Count > 1)
            throw new ArgumentException($"only one of {string.Join(", ", replacing)} can be used at a time: each replaces the backward pass", nameof(terms));
    }

    /// <summary>The terms, in order.</summary>
    public IReadOnlyList<RegularizerTerm> Terms { get; }

    /// <inheritdoc />
    public override string Name => string.Join("+", Terms.Select(t => t.Regularizer.Name));

    /// <inheritdoc />
    public override bool AppliesTo(Tensor parameter) => Terms.Any(t => t.Regularizer.AppliesTo(parameter));

    /// <inheritdoc />
    public override bool NeedsActivations => Terms.Any(t => t.Regularizer.NeedsActivations);

    /// <inheritdoc />
    public override bool ReplacesBackward => Terms.Any(t => t.Regularizer.ReplacesBackward);

    /// <summary>True when every term is a smooth penalty.</summary>
    public override bool IsSmoothPenalty => Terms.All(t => t.Regularizer.IsSmoothPenalty);

    /// <inheritdoc />
    public override void AddGradient(Tensor weight, Tensor grad, double strength)
    {
        // Every term sees the loss gradient alone (the flagship's gate depends on it), so the sum is formed apart.
        if (Terms.Count(t => t.Regularizer.AppliesTo(weight)) == 1)
        {
            var only = Terms.First(t => t.Regularizer.AppliesTo(weight));
            only.Regularizer.AddGradient(weight, grad, only.Effective(strength));
            return;
        }
        using var scope = NewDisposeScope();
        var lossGradient = grad.clone();
        var total = zeros_like(grad);
        foreach (var term in Terms.Where(t => t.Regularizer.AppliesTo(weight)))
        {
            var g = lossGradient.clone();
            term.Regularizer.AddGradient(weight, g, term.Effective(strength));
            total.add_(g.sub_(lossGradient));
        }
        grad.add_(total);
    }

    /// <inheritdoc />
    public override void Project(Tensor weight, Tensor? grad, double strength, double stepSize)
    {
        foreach (var term in Terms.Where(t => t.Regularizer.AppliesTo(weight)))
            term.Regularizer.Project(weight, grad, term.Effective(strength), stepSize);
    }

    /// <inheritdoc />
    public override Tensor Penalty(Tensor weight, Tensor grad, double strength)
    {
        var total = zeros(1, dtype: weight.dtype, device: weight.device).sum();
        foreach (var term in Terms.Where(t => t.Regularizer.AppliesTo(weight)))
            total = total.add(term.Regularizer.Penalty(weight, grad, term.Effective(strength)));
        return total;
    }

    /// <inheritdoc />
    public override Tensor? LossPenalty(RegularizationContext context, double strength)
    {
        Tensor? total = null;
        foreach (var term in Terms)
            if (term.Regularizer.LossPenalty(context, term.Effective(strength)) is { } penalty)
                total = total is null ? penalty : total.add(penalty);
        return total;
    }

    /// <inheritdoc />
    public override void BeforeForward(nn.Module<Tensor, Tensor> model, Tensor inputs, Tensor targets)
    {
        foreach (var term in Terms) term.Regularizer.BeforeForward(model, inputs, targets);
    }

    /// <inheritdoc />
    public override void OnEpoch(nn.Module<Tensor, Tensor> model, int epoch, int epochs)
    {
        foreach (var term in Terms) term.Regularizer.OnEpoch(model, epoch, epochs);
    }

    /// <inheritdoc />
    public override void TransformGradients(IReadOnlyList<Parameter> parameters, double strength)
    {
        foreach (var term in Terms) term.Regularizer.TransformGradients(parameters, term.Effective(strength));
    }

    /// <summary>The state of every term, each key prefixed with the term's position and name (<c>1.spectral/fc1.weight</c>).</summary>
    public override IReadOnlyDictionary<string, Tensor> SaveState(IReadOnlyList<(string Name, Tensor Parameter)> parameters)
    {
        var state = new Dictionary<string, Tensor>();
        for (var i = 0; i < Terms.Count; i++)
            foreach (var (key, value) in Terms[i].Regularizer.SaveState(parameters)) state[$"{TermPrefix(i)}{key}"] = value;
        return state;
    }

    /// <inheritdoc />
    public override void LoadState(IReadOnlyList<(string Name, Tensor Parameter)> parameters, IReadOnlyDictionary<string, Tensor> state)
    {
        var prefixes = Enumerable.Range(0, Terms.Count).Select(TermPrefix).ToList();
        if (state.Keys.FirstOrDefault(k => !prefixes.Any(k.StartsWith)) is { } unknown)
            throw new ArgumentException($"the checkpoint holds state '{unknown}' for no regularizer of '{Name}'");
        for (var i = 0; i < Terms.Count; i++)
        {
            var prefix = prefixes[i];
            Terms[i].Regularizer.LoadState(parameters, state.Where(p => p.Key.StartsWith(prefix)).ToDictionary(p => p.Key[prefix.Length..], p => p.Value));
        }
    }

    private string TermPrefix(int index) => $"{index}.{Terms[index].Regularizer.Name}/";

    /// <inheritdoc />
    public override Tensor ComputeGradients(ObjectiveClosure objective, double strength)
    {
        var replacing = Terms.FirstOrDefault(t => t.Regularizer.ReplacesBackward);
        return replacing is null ? objective.Backward() : replacing.Regularizer.ComputeGradients(objective, replacing.Effective(strength));
    }
}
