using System.Text.Json.Nodes;
using Topiary.Models;
using Topiary.Pruning;
using Topiary.Reporting;
using Topiary.Training;
using static TorchSharp.torch;

namespace Topiary.Experiments;

/// <summary>
/// What the two Transformer subjects share: a model of <see cref="Config"/>, the methods that were tried on attention
/// (<see cref="LanguageModelSubject.SupportedMethods"/>), a perplexity ceiling relative to the dense model, and
/// sparsity per part of the model (attention, feed-forward, embedding).
/// </summary>
public abstract class TransformerSubject : IExperimentSubject
{
    /// <summary>Sets what every Transformer subject has.</summary>
    protected TransformerSubject(string architecture, TransformerConfig config, double ceilingRatio, Func<string, string> partOf,
        ITrainingTask task, DatasetInfo dataset)
    {
        Architecture = architecture;
        Config = config;
        CeilingRatio = ceilingRatio;
        PartOf = partOf;
        Task = task;
        Dataset = dataset;
    }

    /// <inheritdoc />
    public string Architecture { get; }

    /// <summary>The model's sizes.</summary>
    public TransformerConfig Config { get; }

    /// <inheritdoc />
    public DatasetInfo Dataset { get; }

    /// <inheritdoc />
    public ITrainingTask Task { get; }

    /// <inheritdoc />
    public IReadOnlyList<string>? Methods => LanguageModelSubject.SupportedMethods;

    /// <inheritdoc />
    public double CeilingRatio { get; }

    /// <inheritdoc />
    public Func<string, string>? PartOf { get; }

    /// <inheritdoc />
    public abstract nn.Module<Tensor, Tensor> CreateModel();

    /// <inheritdoc />
    public abstract RunObserver Observe();

    /// <inheritdoc />
    public abstract JsonObject ModelMetadata(RunReport report);

    /// <inheritdoc />
    public abstract void SaveModel(string path, nn.Module<Tensor, Tensor> model, PruningMasks masks, JsonObject metadata);

    /// <inheritdoc />
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Frees the subject's data.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }
}
