using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.IO;
using Topiary.Quantization;
using Topiary.Serialization;

namespace Topiary.Inference;

/// <summary>
/// Topiary's compact sparse model file (<c>.tsparse</c>), version 2: magic "TOPSPRS\0", format version (int32 LE),
/// header length (int32 LE), a UTF-8 JSON header (input shape, layers, and per tensor its layout and non-zero
/// count), the tensor payloads in parameter order (see <see cref="TensorLayout"/>), and a CRC-32 of everything
/// before it. Each tensor takes the smallest of dense, CSR and bitmask. Every size is derived from the header
/// and checked against the file's real length and fixed limits before anything is allocated, so a damaged file
/// gives a one-line <see cref="ModelFileException"/>. Version 2 describes each convolution and pooling window by
/// its kernel, stride and padding ([height, width] each) and adds average pooling; version 1 (one square kernel
/// size per convolution, stride 1 and no padding; max-pooling windows k×k with stride k) is still read. Version 3
/// (<see cref="SaveQuantized"/>, written only for quantized weights; float files stay version 2 so that older readers
/// read them) adds "values": "quantized" with the grid's "bits", and per tensor its own "values" ("int8", "int4" for grids
/// of at most 4 bits, two levels to a byte, or "float32") and, for the levels, the "scale" granularity ("channel" or "tensor") and the number of float32 "scales" that precede its levels
/// in the payload (per channel, one for each row that keeps a non-zero level), and the gap-coded layout
/// (<see cref="TensorLayout.Gaps"/>, with its "gap_bytes").
/// </summary>
public static class SparseModelFile
{
    /// <summary>The first eight bytes of every sparse model file.</summary>
    public static ReadOnlySpan<byte> Magic => "TOPSPRS\0"u8;

    private const int FormatVersion = 3;
    private const int FloatFormatVersion = 2;
    private const int FirstWindowsVersion = 2;
    private const int FirstQuantizedVersion = 3;
    private const int MaxHeaderBytes = 1 << 20;
    private const int MaxDimension = 1 << 24;
    private const long MaxTensorElements = 1L << 28;

    /// <summary>
    /// Writes the network atomically (temporary file, then rename) and returns how each tensor was stored.
    /// With <paramref name="half"/> the values are stored as IEEE binary16.
    /// </summary>
    /// <exception cref="ArgumentException">A value is not finite in float16 (|v| above 65504), or the network is inconsistent.</exception>
    public static IReadOnlyList<StoredTensor> Save(string path, SequentialNetwork network, string? architecture, bool half = false, JsonObject? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        network.Shapes();
        foreach (var (name, _, values) in network.Parameters())
            if (half && values.Any(v => !Half.IsFinite((Half)v)))
                throw new ArgumentException($"{name} has values outside the float16 range (|v| > 65504); save it without half precision", nameof(half));
        var encoding = half ? ValueEncoding.Float16 : ValueEncoding.Float32;
        var tensors = network.Parameters().Select(p => EncodeTensor(p.Name, p.Shape, p.Values, encoding, scales: null)).ToList();
        return Write(path, network, architecture, half ? "float16" : "float32", bits: null, tensors, metadata);
    }

    /// <summary>
    /// Writes the network with its weights quantized on <paramref name="scheme"/>'s grid (<see cref="WeightQuantizer"/>):
    /// each weight as its scales (float32, one per output unit that keeps a level, or one per tensor) followed by its
    /// levels in the smallest layout, as int8 or, for grids of at most 4 bits, two int4 levels to a byte; biases stay float32. Format
    /// version 3; loading gives the dequantized network (level × scale), which equals the fake-quantized model of
    /// quantization-aware training.
    /// </summary>
    /// <exception cref="ArgumentException">A weight is not finite, or the network is inconsistent.</exception>
    public static IReadOnlyList<StoredTensor> SaveQuantized(string path, SequentialNetwork network, string? architecture, QuantizationScheme scheme, JsonObject? metadata = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(scheme);
        network.Shapes();
        var quantized = WeightQuantizer.QuantizeWeights(network, scheme).ToDictionary(q => q.Name);
        var tensors = network.Parameters().Select(p => quantized.TryGetValue(p.Name, out var q)
            ? EncodeTensor(p.Name, p.Shape, q.Levels.Select(l => (float)l).ToArray(), scheme.Bits <= 4 ? ValueEncoding.Int4 : ValueEncoding.Int8, StoredScales(q),
                allowGaps: true, perChannel: q.Scales.Length > 1)
            : EncodeTensor(p.Name, p.Shape, p.Values, ValueEncoding.Float32, scales: null, allowGaps: true)).ToList();
        return Write(path, network, architecture, "quantized", scheme.Bits, tensors, metadata);
    }

    // A per-channel scale is stored only for the rows that keep a non-zero level: a pruned row needs none, and the
    // reader knows which rows those are from the levels.
    private static float[] StoredScales(QuantizedTensor weight)
    {
        if (weight.Scales.Length == 1) return weight.Scales;
        var rowLength = weight.RowLength;
        return weight.Scales.Where((_, row) => weight.Levels.AsSpan((int)(row * rowLength), (int)rowLength).ContainsAnyExcept((sbyte)0)).ToArray();
    }

    private sealed record EncodedTensor(StoredTensor Stored, byte[] Payload, ValueEncoding Encoding, int ScaleCount, bool PerChannel, long GapBytes);

    private static EncodedTensor EncodeTensor(string name, long[] shape, float[] values, ValueEncoding encoding, float[]? scales, bool allowGaps = false, bool perChannel = false)
    {
        var (layout, payload, nonzero, gapBytes) = SparseTensorCodec.Encode(values, shape, encoding, allowGaps);
        if (scales is not null)
        {
            var withScales = new byte[scales.Length * 4 + payload.Length];
            for (var i = 0; i < scales.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(withScales.AsSpan(i * 4), scales[i]);
            payload.CopyTo(withScales.AsSpan(scales.Length * 4));
            payload = withScales;
        }
        var positions = SparseTensorCodec.PositionBytes(layout, shape, values.Length, nonzero, gapBytes);
        return new EncodedTensor(new StoredTensor(name, shape, layout, nonzero, payload.Length, values.Length * 4L) { PositionBytes = positions },
            payload, encoding, scales?.Length ?? 0, perChannel, gapBytes);
    }

    private static IReadOnlyList<StoredTensor> Write(string path, SequentialNetwork network, string? architecture, string values, int? bits,
        IReadOnlyList<EncodedTensor> tensors, JsonObject? metadata)
    {
        var header = new JsonObject
        {
            ["tool_version"] = ToolInfo.Version,
            ["architecture"] = architecture,
            ["values"] = values,
        };
        if (bits is { } b) header["bits"] = b;
        header["input"] = new JsonArray(network.InputChannels, network.InputHeight, network.InputWidth);
        header["layers"] = new JsonArray(network.Layers.Select(DescribeLayer).ToArray());
        header["tensors"] = new JsonArray(tensors.Select(t => DescribeTensor(t, quantizedFile: bits is not null)).ToArray());
        header["metadata"] = metadata?.DeepClone() ?? new JsonObject();
        var headerBytes = Encoding.UTF8.GetBytes(header.ToJsonString());

        using var buffer = new MemoryStream();
        buffer.Write(Magic);
        WriteInt32(buffer, bits is null ? FloatFormatVersion : FormatVersion);
        WriteInt32(buffer, headerBytes.Length);
        buffer.Write(headerBytes);
        foreach (var tensor in tensors) buffer.Write(tensor.Payload);
        WriteInt32(buffer, unchecked((int)Crc32.Compute(buffer.GetBuffer().AsSpan(0, (int)buffer.Length))));
        AtomicFile.WriteAllBytes(path, buffer.GetBuffer().AsSpan(0, (int)buffer.Length));
        return tensors.Select(t => t.Stored).ToList();
    }

    private static JsonObject DescribeTensor(EncodedTensor tensor, bool quantizedFile)
    {
        var node = new JsonObject
        {
            ["name"] = tensor.Stored.Name,
            ["layout"] = tensor.Stored.Layout.ToString().ToLowerInvariant(),
            ["nonzero"] = tensor.Stored.Nonzero,
        };
        if (quantizedFile)
        {
            node["values"] = tensor.Encoding switch { ValueEncoding.Int8 => "int8", ValueEncoding.Int4 => "int4", _ => "float32" };
            if (tensor.Encoding is ValueEncoding.Int8 or ValueEncoding.Int4)
            {
                node["scale"] = tensor.PerChannel ? "channel" : "tensor";
                node["scales"] = tensor.ScaleCount;
            }
            if (tensor.Stored.Layout == TensorLayout.Gaps) node["gap_bytes"] = tensor.GapBytes;
        }
        return node;
    }

    /// <summary>True when the file starts with <see cref="Magic"/> (used to tell sparse files from <c>model.topiary</c>).</summary>
    public static bool HasMagic(string path)
    {
        try
        {
            using var stream = File.OpenRead(path);
            Span<byte> start = stackalloc byte[8];
            return stream.ReadAtLeast(start, 8, throwOnEndOfStream: false) == 8 && start.SequenceEqual(Magic);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Reads, verifies and decodes a sparse model file.</summary>
    /// <exception cref="ModelFileException">The file is missing, damaged or inconsistent; the message is one line naming it.</exception>
    public static SparseModel Load(string path)
    {
        var bytes = BoundedFile.ReadAllBytes(path, int.MaxValue - 64, "a sparse model file", (reason, cause) => new ModelFileException(path, reason, cause));
        try
        {
            return Parse(path, bytes);
        }
        catch (Exception e) when (e is FormatException or InvalidOperationException or JsonException or ArgumentException or OverflowException)
        {
            throw new ModelFileException(path, OneLine(e.Message), e);
        }
    }

    private static SparseModel Parse(string path, byte[] bytes)
    {
        if (bytes.Length < Magic.Length + 12) throw new ModelFileException(path, $"truncated: {bytes.Length} bytes is shorter than any sparse model file");
        if (!bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic)) throw new ModelFileException(path, "not a Topiary sparse model file (wrong magic bytes)");
        var version = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
        if (version is < 1 or > FormatVersion) throw new ModelFileException(path, $"format version {version} is not supported (this Topiary reads versions 1 to {FormatVersion})");
        var storedCrc = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(bytes.Length - 4));
        if (Crc32.Compute(bytes.AsSpan(0, bytes.Length - 4)) != storedCrc) throw new ModelFileException(path, "checksum mismatch: the file is damaged or truncated");
        var headerLength = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(12));
        var offset = 16;
        if (headerLength <= 0 || headerLength > MaxHeaderBytes || headerLength > bytes.Length - offset - 4)
            throw new FormatException($"header length {headerLength} does not fit in the file");
        var header = JsonNode.Parse(bytes.AsSpan(offset, headerLength)) as JsonObject ?? throw new FormatException("header is not a JSON object");
        offset += headerLength;

        var fileValues = Field<string>(header, "values");
        var half = fileValues switch
        {
            "float32" => false,
            "float16" => true,
            "quantized" when version >= FirstQuantizedVersion => false,
            var other => throw new FormatException($"unknown value type '{other}'"),
        };
        int? bits = fileValues == "quantized" ? Field<int>(header, "bits") : null;
        if (bits is < 2 or > 8) throw new FormatException($"'bits' = {bits} is outside [2, 8]");
        var input = Array(header, "input").Select(n => Dimension(n, "input")).ToArray();
        if (input.Length != 3) throw new FormatException("input shape must have 3 dimensions");
        var layerNodes = Array(header, "layers");
        var tensorNodes = Array(header, "tensors");

        // First pass: shapes and payload sizes from the header alone, all checked before any allocation.
        var layerSpecs = layerNodes.Select((n, i) => n as JsonObject ?? throw new FormatException($"layer {i} is not an object")).ToList();
        var skeleton = new SequentialNetwork(input[0], input[1], input[2], layerSpecs.Select(l => ReadLayer(l, version, withValues: null)).ToList());
        var parameters = skeleton.ParameterShapes().ToList();
        if (tensorNodes.Count != parameters.Count) throw new FormatException($"header lists {tensorNodes.Count} tensors but the layers have {parameters.Count}");
        var plans = new List<(string Name, long[] Shape, long Numel, TensorLayout Layout, long Nonzero, ValueEncoding Encoding, int Scales, bool PerChannel, long Bytes, long Positions)>();
        long total = 0;
        for (var i = 0; i < parameters.Count; i++)
        {
            var node = tensorNodes[i] as JsonObject ?? throw new FormatException($"tensor {i} is not an object");
            var (name, shape) = parameters[i];
            if (Field<string>(node, "name") != name) throw new FormatException($"tensor {i} is '{Field<string>(node, "name")}' but the layers expect '{name}'");
            var numel = shape.Aggregate(1L, (a, b) => checked(a * b));
            if (numel > MaxTensorElements) throw new FormatException($"{name} has {numel} entries, more than the limit of {MaxTensorElements}");
            var layout = Field<string>(node, "layout") switch
            {
                "dense" => TensorLayout.Dense,
                "csr" => TensorLayout.Csr,
                "bitmask" => TensorLayout.Bitmask,
                "gaps" when version >= FirstQuantizedVersion => TensorLayout.Gaps,
                var other => throw new FormatException($"{name} has unknown layout '{other}'"),
            };
            var nonzero = Field<long>(node, "nonzero");
            if (nonzero < 0 || nonzero > numel) throw new FormatException($"{name} claims {nonzero} non-zero entries of {numel}");
            var (encoding, scales, perChannel) = TensorValues(node, name, shape, bits, half);
            var gapBytes = layout == TensorLayout.Gaps ? Field<long>(node, "gap_bytes") : 0;
            if (layout == TensorLayout.Gaps && (gapBytes < nonzero || gapBytes > bytes.Length || SparseTensorCodec.Matrix(shape, numel).Columns > SparseTensorCodec.MaxGapRowLength))
                throw new FormatException($"{name} claims {gapBytes} gap bytes for {nonzero} non-zero entries, or has rows too long to gap-code");
            var size = scales * 4L + SparseTensorCodec.EncodedSize(layout, shape, numel, nonzero, encoding, gapBytes);
            total += size;
            if (total > bytes.Length) throw new FormatException($"size mismatch: the tensors up to {name} need {total} bytes but the file holds {bytes.Length}");
            plans.Add((name, shape, numel, layout, nonzero, encoding, scales, perChannel, size, SparseTensorCodec.PositionBytes(layout, shape, numel, nonzero, gapBytes)));
        }
        if (offset + total + 4 != bytes.Length)
            throw new FormatException($"size mismatch: the header describes {offset + total + 4} bytes but the file holds {bytes.Length}");

        var decoded = new Dictionary<string, float[]>();
        var stored = new List<StoredTensor>();
        foreach (var plan in plans)
        {
            try
            {
                var payload = bytes.AsSpan(offset, (int)plan.Bytes);
                var scaleBytes = plan.Scales * 4;
                var values = SparseTensorCodec.Decode(payload.Slice(scaleBytes), plan.Layout, plan.Shape, plan.Numel, plan.Nonzero, plan.Encoding);
                decoded[plan.Name] = plan.Encoding is ValueEncoding.Int8 or ValueEncoding.Int4 ? Dequantize(plan.Name, plan.Shape, values, payload.Slice(0, scaleBytes), bits!.Value, plan.PerChannel) : values;
            }
            catch (FormatException e)
            {
                throw new FormatException($"{plan.Name}: {e.Message}", e);
            }
            stored.Add(new StoredTensor(plan.Name, plan.Shape, plan.Layout, plan.Nonzero, plan.Bytes, plan.Numel * 4) { PositionBytes = plan.Positions });
            offset += (int)plan.Bytes;
        }
        var network = new SequentialNetwork(input[0], input[1], input[2], layerSpecs.Select(l => ReadLayer(l, version, decoded)).ToList());
        network.Shapes();
        var architecture = header["architecture"] is JsonValue a ? a.GetValue<string>() : null;
        return new SparseModel(network, architecture, half, stored, header["metadata"] as JsonObject ?? new JsonObject()) { WeightBits = bits };
    }

    /// <summary>
    /// How a tensor of a version-3 int8 file stores its values: int8 levels with the number of scales before them and
    /// whether they are per output unit (one per row that keeps a non-zero level) or one for the tensor; or float32.
    /// </summary>
    private static (ValueEncoding Encoding, int Scales, bool PerChannel) TensorValues(JsonObject node, string name, long[] shape, int? bits, bool half)
    {
        if (bits is null) return (half ? ValueEncoding.Float16 : ValueEncoding.Float32, 0, false);
        switch (Field<string>(node, "values"))
        {
            case "float32":
                return (ValueEncoding.Float32, 0, false);
            case "int8" or "int4":
                if (Field<string>(node, "values") == "int4" && bits > 4) throw new FormatException($"{name} stores int4 levels of a {bits}-bit grid");
                var perChannel = Field<string>(node, "scale") switch
                {
                    "channel" => true,
                    "tensor" => false,
                    var other => throw new FormatException($"{name} has unknown scale granularity '{other}'"),
                };
                var scales = Field<int>(node, "scales");
                var rows = shape.Length >= 2 ? shape[0] : 1;
                if (perChannel ? scales < 0 || scales > rows : scales != 1)
                    throw new FormatException($"{name} has {scales} scales; expected {(perChannel ? $"at most one per output unit ({rows})" : "1")}");
                return (Field<string>(node, "values") == "int4" ? ValueEncoding.Int4 : ValueEncoding.Int8, scales, perChannel);
            case var other:
                throw new FormatException($"{name} has unknown value type '{other}'");
        }
    }

    /// <summary>level × scale in float32, as <see cref="QuantizedTensor.Dequantize"/>, after checking levels and scales.</summary>
    private static float[] Dequantize(string name, long[] shape, float[] levels, ReadOnlySpan<byte> scaleBytes, int bits, bool perChannel)
    {
        var stored = new float[scaleBytes.Length / 4];
        for (var i = 0; i < stored.Length; i++)
        {
            stored[i] = BinaryPrimitives.ReadSingleLittleEndian(scaleBytes.Slice(i * 4));
            if (!float.IsFinite(stored[i]) || stored[i] <= 0) throw new FormatException($"scale {i} ({stored[i]}) is not a positive finite number");
        }
        var limit = (1 << (bits - 1)) - 1;
        var level = levels.FirstOrDefault(l => Math.Abs(l) > limit);
        if (level != 0) throw new FormatException($"level {level} is outside the {bits}-bit grid (±{limit})");
        var scales = stored;
        if (perChannel)
        {
            // One stored scale per row that keeps a level; a pruned row's scale is 1 (any scale represents it).
            var rows = (int)shape[0];
            var rowLength = levels.Length / Math.Max(rows, 1);
            scales = new float[rows];
            var next = 0;
            for (var r = 0; r < rows; r++)
            {
                var alive = levels.AsSpan(r * rowLength, rowLength).ContainsAnyExcept(0f);
                if (alive && next == stored.Length) throw new FormatException($"{stored.Length} scales for more rows that keep a level");
                scales[r] = alive ? stored[next++] : 1f;
            }
            if (next != stored.Length) throw new FormatException($"{stored.Length} scales but {next} rows keep a level");
        }
        var quantized = new QuantizedTensor(name, shape, levels.Select(l => (sbyte)l).ToArray(), scales, bits);
        return quantized.Dequantize();
    }

    private static JsonObject DescribeLayer(NetworkLayer layer) => layer switch
    {
        LinearLayer l => new JsonObject { ["kind"] = l.Kind, ["name"] = l.Name, ["in"] = l.InFeatures, ["out"] = l.OutFeatures },
        Conv2dLayer c => DescribeWindow(new JsonObject { ["kind"] = c.Kind, ["name"] = c.Name, ["in"] = c.InChannels, ["out"] = c.OutChannels }, c.Window),
        MaxPool2dLayer p => DescribeWindow(new JsonObject { ["kind"] = p.Kind }, p.Window),
        AvgPool2dLayer p => DescribeWindow(new JsonObject { ["kind"] = p.Kind }, p.Window),
        _ => new JsonObject { ["kind"] = layer.Kind },
    };

    private static JsonObject DescribeWindow(JsonObject node, Window2d window)
    {
        node["kernel"] = new JsonArray(window.KernelHeight, window.KernelWidth);
        node["stride"] = new JsonArray(window.StrideHeight, window.StrideWidth);
        node["padding"] = new JsonArray(window.PaddingHeight, window.PaddingWidth);
        return node;
    }

    // Without values (the first pass) the layers get empty arrays: only their shapes are used.
    private static NetworkLayer ReadLayer(JsonObject node, int version, IReadOnlyDictionary<string, float[]>? withValues)
    {
        var kind = Field<string>(node, "kind");
        float[] Values(string name) => withValues is null ? System.Array.Empty<float>() : withValues[name];
        switch (kind)
        {
            case "linear":
            {
                var name = LayerName(node);
                return new LinearLayer(name, Dimension(node["in"], "in"), Dimension(node["out"], "out"), Values($"{name}.weight"), Values($"{name}.bias"));
            }
            case "conv2d":
            {
                var name = LayerName(node);
                var window = version < FirstWindowsVersion ? Window2d.Square(Dimension(node["kernel"], "kernel")) : ReadWindow(node);
                return new Conv2dLayer(name, Dimension(node["in"], "in"), Dimension(node["out"], "out"), window, Values($"{name}.weight"), Values($"{name}.bias"));
            }
            case "maxpool2d":
                return version < FirstWindowsVersion ? new MaxPool2dLayer(Dimension(node["kernel"], "kernel")) : new MaxPool2dLayer(ReadWindow(node));
            case "avgpool2d" when version >= FirstWindowsVersion:
                return new AvgPool2dLayer(ReadWindow(node));
            case "relu": return new ReluLayer();
            case "flatten": return new FlattenLayer();
            default: throw new FormatException($"unknown layer kind '{kind}'");
        }
    }

    private static string LayerName(JsonObject node)
    {
        var name = Field<string>(node, "name");
        if (name.Length is 0 or > 200 || name.Any(char.IsControl)) throw new FormatException("a layer name is empty, too long or has control characters");
        return name;
    }

    private static Window2d ReadWindow(JsonObject node)
    {
        var kernel = Pair(node, "kernel", minimum: 1);
        var stride = Pair(node, "stride", minimum: 1);
        var padding = Pair(node, "padding", minimum: 0);
        return new Window2d(kernel[0], kernel[1], stride[0], stride[1], padding[0], padding[1]);
    }

    /// <summary>A [height, width] pair of integers in [<paramref name="minimum"/>, MaxDimension].</summary>
    private static int[] Pair(JsonObject node, string key, int minimum)
    {
        var pair = Array(node, key);
        if (pair.Count != 2) throw new FormatException($"'{key}' must be [height, width]");
        return pair.Select(n => Dimension(n, key, minimum)).ToArray();
    }

    private static int Dimension(JsonNode? node, string what, int minimum = 1)
    {
        var value = node is JsonValue v && v.TryGetValue<long>(out var n) ? n : throw new FormatException($"'{what}' is not an integer");
        if (value < minimum || value > MaxDimension) throw new FormatException($"'{what}' = {value} is outside [{minimum}, {MaxDimension}]");
        return (int)value;
    }

    private static T Field<T>(JsonObject node, string key)
    {
        try
        {
            return node[key] is { } value ? value.GetValue<T>() : throw new FormatException($"header field '{key}' is missing");
        }
        catch (InvalidOperationException e)
        {
            throw new FormatException($"header field '{key}' has the wrong type", e);
        }
    }

    private static JsonArray Array(JsonObject node, string key) => node[key] as JsonArray ?? throw new FormatException($"header field '{key}' is missing or not a list");

    private static string OneLine(string text) => string.Join(" ", text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));

    private static void WriteInt32(Stream stream, int value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteInt32LittleEndian(b, value);
        stream.Write(b);
    }
}
