using Topiary.Models;
using Topiary.Serialization;

namespace Topiary.Cli.Commands;

/// <summary>The check of commands that only take the image models' files (<c>analyze</c>, <c>trim</c>).</summary>
internal static class ImageModelFiles
{
    /// <summary>A one-line <c>--model-file</c> error when <paramref name="loaded"/> is a Transformer, not one of the catalog's image models.</summary>
    public static void Require(string file, LoadedModel loaded, string command)
    {
        if (ModelCatalog.Names.Contains(loaded.Architecture)) return;
        loaded.Model.Dispose();
        throw new CliUsageException($"--model-file: {file} holds a {loaded.Architecture} model; {command} takes the image models ({string.Join(", ", ModelCatalog.Names)})");
    }
}
