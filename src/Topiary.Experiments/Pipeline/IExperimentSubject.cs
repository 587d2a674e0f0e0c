using System.Text.Json.Nodes;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// What one experiment prunes, whatever the domain: one seed's data as an <see cref="ITrainingTask"/>, a way to build a
/// fresh model, the methods that apply, what the report adds for this domain, and how the pruned model is saved.
/// <see cref="Experiment.Run"/> and the comparison harness run every subject the same way: image classifiers
/// (<see cref="ImageSubject"/>), the character-level language model (<see cref="LanguageModelSubject"/>) and the
/// translator (<see cref="TranslationSubject"/>). The subject owns its data and disposes it.
/// </summary>
public interface IExperimentSubject : IDisposable
{
    /// <summary>The architecture's name, as reports and model files record it.</summary>
    string Architecture { get; }

    /// <summary>Where the data came from and how it was split.</summary>
    DatasetInfo Dataset { get; }

    /// <summary>The seed's data, loss and metric.</summary>
    ITrainingTask Task { get; }

    /// <summary>The methods this subject runs, or null when every method applies.</summary>
    IReadOnlyList<string>? Methods { get; }

    /// <summary>
    /// For a metric that is better when lower: without a set ceiling, the ceiling is this multiple of the dense model's
    /// validation metric (1.1: prune while within 10% of the dense model). Unused when higher is better.
    /// </summary>
    double CeilingRatio { get; }

    /// <summary>A new, untrained model of the architecture (called after the run's seed is set).</summary>
    nn.Module<Tensor, Tensor> CreateModel();

    /// <summary>The part of the model a parameter belongs to, for the report's per-part sparsity; null to group by layer type.</summary>
    Func<string, string>? PartOf { get; }

    /// <summary>A fresh observer of one run, which adds this domain's sections to its report (samples, BLEU).</summary>
    RunObserver Observe();

    /// <summary>What a saved model needs to find its held-out data again (seed, data location, split sizes).</summary>
    JsonObject ModelMetadata(RunReport report);

    /// <summary>Saves the pruned model (with what it needs to be used again: sizes, vocabulary) to <paramref name="path"/>.</summary>
    void SaveModel(string path, nn.Module<Tensor, Tensor> model, PruningMasks masks, JsonObject metadata);
}

/// <summary>
/// Hears about one run's model at two moments, <see cref="Dense"/> after dense training and <see cref="Pruned"/> after
/// pruning, and completes the report with what it measured. The default observes nothing.
/// </summary>
public class RunObserver
{
    /// <summary>The dense model, before pruning (not called when a run resumes from a checkpoint).</summary>
    public virtual void Dense(nn.Module<Tensor, Tensor> model) { }

    /// <summary>The pruned model, in its selected state.</summary>
    public virtual void Pruned(nn.Module<Tensor, Tensor> model) { }

    /// <summary>The report with this observer's sections added.</summary>
    public virtual RunReport Complete(RunReport report) => report;
}
