using Topiary.Backend;
using static TorchSharp.torch;

namespace Topiary.Serialization;

/// <summary>
/// Compares the tensors a file holds with those a module expects, by name, before anything is copied: every tensor
/// missing on either side, of another shape, or of a dtype that does not convert, one line each. Floating-point
/// types (float32, float64, float16, bfloat16) convert into one another (rounding where the target is narrower);
/// integer and bool tensors must match exactly, since a count or an index has no meaningful rounding.
/// </summary>
internal static class ModuleStateMatch
{
    /// <summary>What the file says of one tensor.</summary>
    public sealed record Stored(string Name, ScalarType Type, long[] Shape);

    /// <summary>Whether a tensor stored as <paramref name="stored"/> may be copied into one of <paramref name="target"/>.</summary>
    public static bool Converts(ScalarType stored, ScalarType target) =>
        stored == target || (StoredType.IsFloatingPoint(stored) && StoredType.IsFloatingPoint(target));

    /// <summary>
    /// The differences between <paramref name="stored"/> and <paramref name="target"/> (the module's state by name), in
    /// file order, then the module's tensors the file lacks, in module order. Names missing from the module, or from
    /// the file, are left out when <paramref name="reportUnexpected"/> or <paramref name="reportMissing"/> is false.
    /// </summary>
    public static List<string> Compare(IReadOnlyDictionary<string, Tensor> target, IEnumerable<Stored> stored,
        bool reportMissing = true, bool reportUnexpected = true)
    {
        var lines = new List<string>();
        var seen = new HashSet<string>();
        foreach (var (name, type, shape) in stored)
        {
            seen.Add(name);
            if (!target.TryGetValue(name, out var tensor))
            {
                if (reportUnexpected) lines.Add($"'{name}' is in the file but not in the module");
            }
            else if (!shape.SequenceEqual(tensor.shape))
            {
                lines.Add($"'{name}' has shape {Text(shape)} in the file but {Text(tensor.shape)} in the module");
            }
            else if (!Converts(type, tensor.dtype))
            {
                lines.Add($"'{name}' is {StoredType.NameOf(type)} in the file but {StoredType.NameOf(tensor.dtype)} in the module (only floating-point types convert)");
            }
        }
        if (reportMissing)
            lines.AddRange(target.Keys.Where(name => !seen.Contains(name)).Select(name => $"'{name}' is in the module but not in the file"));
        return lines;
    }

    /// <summary>A shape as PyTorch prints it, e.g. <c>[10,16]</c>.</summary>
    public static string Text(IEnumerable<long> shape) => $"[{string.Join(",", shape)}]";
}
