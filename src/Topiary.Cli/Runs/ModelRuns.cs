using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Topiary.Cli.Settings;

namespace Topiary.Cli.Runs;

/// <summary>The one place where the model decides what runs.</summary>
internal static class ModelRuns
{
    /// <summary>The runs of <paramref name="model"/>, a <c>--model</c> name or a saved file's architecture.</summary>
    public static IModelRun For(string model, ILogger? logger = null) => ModelFamilies.Of(model) switch
    {
        ModelFamily.LanguageModel => new LanguageModelRun(),
        ModelFamily.Translation => new TranslationRun(logger ?? NullLogger.Instance),
        _ => new ImageRun(),
    };
}
