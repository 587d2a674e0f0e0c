using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>A model to start pruning from instead of training one, with the masks it already has (if any).</summary>
/// <param name="Model">The model.</param>
/// <param name="Masks">Its masks by parameter name, or null.</param>
public sealed record StartingPoint(nn.Module<Tensor, Tensor> Model, IReadOnlyDictionary<string, Tensor>? Masks);

/// <summary>The trained, pruned model of an experiment, its masks, its report and the options as run.</summary>
/// <param name="Model">The model, in its selected state.</param>
/// <param name="Masks">Its masks.</param>
/// <param name="Report">The run's report.</param>
/// <param name="Options">The options as run, with a ceiling resolved from the dense model.</param>
public sealed record ExperimentResult(nn.Module<Tensor, Tensor> Model, PruningMasks Masks, RunReport Report, PruningOptions Options);
