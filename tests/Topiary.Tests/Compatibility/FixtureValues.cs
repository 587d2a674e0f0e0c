using System.Buffers.Binary;
using System.Text.Json;
using System.Text.Json.Nodes;
using static TorchSharp.torch;

namespace Topiary.Tests.Compatibility;

/// <summary>
/// The values a fixture is checked by, computed the same way from what the writer saved and from what today's code
/// loads: per tensor its dtype, shape, sum (in double, in element order) and non-zero count; per mask its kept count;
/// outputs on a fixed input as plain numbers. Stored next to each fixture as <c>.expected.json</c>.
/// </summary>
internal static class FixtureValues
{
    /// <summary>Parameters and buffers are stored exactly: their sums agree to rounding in the last digits.</summary>
    public const double StoredTolerance = 1e-9;

    /// <summary>Outputs agree within this, relative to max(1, |value|), on any x86 CPU and kernel path.</summary>
    public const double OutputTolerance = 1e-6;

    public static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    /// <summary>Name → {dtype, shape, sum, nonzero}, in the order given.</summary>
    public static JsonObject Tensors(IEnumerable<KeyValuePair<string, Tensor>> tensors)
    {
        var result = new JsonObject();
        foreach (var (name, t) in tensors)
        {
            var (sum, nonzero) = SumAndNonzero(t);
            result[name] = new JsonObject
            {
                ["dtype"] = t.dtype.ToString(),
                ["shape"] = Shape(t),
                ["sum"] = sum,
                ["nonzero"] = nonzero,
            };
        }
        return result;
    }

    /// <summary>Name → {shape, kept} of masks (1 kept, 0 pruned, in whatever dtype).</summary>
    public static JsonObject Masks(IEnumerable<KeyValuePair<string, Tensor>> masks)
    {
        var result = new JsonObject();
        foreach (var (name, mask) in masks)
            result[name] = new JsonObject { ["shape"] = Shape(mask), ["kept"] = SumAndNonzero(mask).Nonzero };
        return result;
    }

    /// <summary>A tensor's values in row-major order, as doubles.</summary>
    public static JsonArray Values(Tensor t)
    {
        using var flat = t.detach().cpu().to(float64).contiguous().flatten();
        return new JsonArray(flat.data<double>().ToArray().Select(v => (JsonNode)v).ToArray());
    }

    /// <summary>The int32 that follows the eight magic bytes of every Topiary file: its format version.</summary>
    public static int FormatVersion(string path)
    {
        Span<byte> start = stackalloc byte[12];
        using var stream = File.OpenRead(path);
        stream.ReadExactly(start);
        return BinaryPrimitives.ReadInt32LittleEndian(start[8..]);
    }

    /// <summary>
    /// Asserts that <paramref name="actual"/> has <paramref name="expected"/>'s structure, strings and booleans, and
    /// numbers within <paramref name="tolerance"/> × max(1, |expected|), or <see cref="OutputTolerance"/> under a key named
    /// <c>output</c>. <paramref name="where"/> names the place in failures.
    /// </summary>
    public static void AssertMatches(JsonNode? expected, JsonNode? actual, double tolerance, string where)
    {
        switch (expected)
        {
            case null:
                Assert.True(actual is null, $"{where}: expected null, got {actual?.ToJsonString()}");
                break;
            case JsonObject e:
                var a = Assert.IsType<JsonObject>(actual, exactMatch: false);
                Assert.True(e.Select(p => p.Key).SequenceEqual(a.Select(p => p.Key)),
                    $"{where}: expected the keys {string.Join(", ", e.Select(p => p.Key))}, got {string.Join(", ", a.Select(p => p.Key))}");
                // Outputs are computed, not stored: they get the looser tolerance.
                foreach (var (key, value) in e) AssertMatches(value, a[key], key == "output" ? Math.Max(tolerance, OutputTolerance) : tolerance, $"{where}.{key}");
                break;
            case JsonArray e:
                var array = Assert.IsType<JsonArray>(actual, exactMatch: false);
                Assert.True(e.Count == array.Count, $"{where}: expected {e.Count} items, got {array.Count}");
                for (var i = 0; i < e.Count; i++) AssertMatches(e[i], array[i], tolerance, $"{where}[{i}]");
                break;
            case JsonValue e when e.GetValueKind() == JsonValueKind.Number:
                Assert.True(actual is JsonValue v && v.GetValueKind() == JsonValueKind.Number, $"{where}: expected a number, got {actual?.ToJsonString()}");
                double want = e.GetValue<double>(), got = actual!.GetValue<double>();
                Assert.True(Math.Abs(want - got) <= tolerance * Math.Max(1, Math.Abs(want)), $"{where}: expected {want:R}, got {got:R}");
                break;
            default:
                Assert.True(JsonNode.DeepEquals(expected, actual), $"{where}: expected {expected.ToJsonString()}, got {actual?.ToJsonString()}");
                break;
        }
    }

    private static JsonArray Shape(Tensor t) => new(t.shape.Select(d => (JsonNode)d).ToArray());

    private static (double Sum, long Nonzero) SumAndNonzero(Tensor t)
    {
        using var values = t.detach().cpu().to(float64).contiguous().flatten();
        double sum = 0;
        long nonzero = 0;
        foreach (var v in values.data<double>())
        {
            sum += v;
            if (v != 0) nonzero++;
        }
        return (sum, nonzero);
    }
}
