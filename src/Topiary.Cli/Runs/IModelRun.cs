using Microsoft.Extensions.Logging;
using Topiary.Cli.Settings;
using Topiary.Serialization;

namespace Topiary.Cli.Runs;

/// <summary>
/// What <c>prune</c>, <c>compare</c> and <c>eval</c> do for one kind of model: the calls into the library, with
/// the data that kind reads and the files it writes. The commands pick one by the model (<see cref="ModelRuns"/>).
/// </summary>
internal interface IModelRun
{
    int Prune(PruneSettings settings, ILogger logger, CancellationToken cancellationToken);

    int Compare(CompareSettings settings, ILogger logger, CancellationToken cancellationToken);

    /// <summary>Measures a loaded model file of this kind on its test data.</summary>
    int Eval(LoadedModel loaded, EvalSettings settings);
}
