namespace Topiary.Pruning.Toolkit;

/// <summary>A recipe file is malformed; the message names the file and the field, e.g. <c>r.json: schedule.target_sparsity: …</c>.</summary>
public sealed class RecipeException(string file, string field, string reason) : Exception($"{file}: {field}: {reason}")
{
    /// <summary>The recipe file.</summary>
    public string File { get; } = file;
    /// <summary>The JSON path of the offending field (e.g. <c>schedule.kind</c>).</summary>
    public string Field { get; } = field;
}
