using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Topiary.Tests.Deployment;

/// <summary>An independent reader of safetensors files (format as published), for checking the exporter.</summary>
internal static class SafetensorsReader
{
    /// <summary>Every tensor in header order, checking that the data offsets tile the data section exactly.</summary>
    public static List<(string Name, long[] Shape, float[] Values)> Read(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var headerLength = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, headerLength).TrimEnd(' '));
        var dataStart = 8 + headerLength;
        var tensors = new List<(string, long[], float[])>();
        long end = 0;
        foreach (var entry in header.RootElement.EnumerateObject().Where(p => p.Name != "__metadata__"))
        {
            Assert.Equal("F32", entry.Value.GetProperty("dtype").GetString());
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            Assert.Equal(end, offsets[0]);
            end = offsets[1];
            var values = MemoryMarshal.Cast<byte, float>(bytes.AsSpan(dataStart + (int)offsets[0], (int)(offsets[1] - offsets[0]))).ToArray();
            Assert.Equal(shape.Aggregate(1L, (a, b) => a * b), values.Length);
            tensors.Add((entry.Name, shape, values));
        }
        Assert.Equal(bytes.Length, dataStart + end);
        return tensors;
    }
}
