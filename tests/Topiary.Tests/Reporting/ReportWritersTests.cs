using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Topiary.Cli.Plots;
using Topiary.IO;
using Topiary.Reporting;

namespace Topiary.Tests.Reporting;

/// <summary>Tests of the report writers: JSON, markdown, trajectory CSV, plots and atomic file writes.</summary>
public sealed class ReportWritersTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "topiary-report-tests-" + Guid.NewGuid().ToString("N"));

    /// <summary>Creates the scratch directory of one test.</summary>
    public ReportWritersTests() => Directory.CreateDirectory(_dir);

    /// <summary>Removes the scratch directory.</summary>
    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }

    /// <summary>A report with awkward numbers (many digits, tiny and huge values) and the given trajectory length.</summary>
    internal static RunReport SampleReport(int trajectoryPoints = 25)
    {
        var trajectory = new List<TrajectoryPoint>(trajectoryPoints);
        var remaining = 1.0;
        for (var i = 0; i < trajectoryPoints; i++)
        {
            var pruned = i > 0 && i % 3 == 0;
            if (pruned)
            {
                remaining *= 0.8;
            }
            // Flat until about 2% remaining, then collapsing, like a real pruning run.
            var accuracy = 0.9123456789012345 - 0.8 / (1 + Math.Pow(remaining / 0.008, 1.5)) + 0.002 * Math.Sin(i);
            trajectory.Add(new TrajectoryPoint(
                Step: 1000L * i + 7,
                Epoch: i / 3.0,
                PrunableRemainingFraction: remaining,
                Validation: accuracy,
                ValidationLoss: 0.25 + 1.0 / (i + 3.0),
                TrainLoss: 0.2 + 1.0 / (i + 7.0),
                Gamma: 1e-5 * Math.Pow(1.1, i) + 1.0 / 3e7,
                Pruned: pruned));
        }
        var selected = trajectory.Count > 0 ? trajectory[trajectory.Count * 2 / 3] : null;
        var finalRemaining = selected?.PrunableRemainingFraction ?? 0.15;
        var finalNonzero = (long)Math.Round(61706 * finalRemaining);

        return new RunReport
        {
            ToolVersion = "0.1.0-test",
            Metric = MetricKind.Accuracy,
            Model = "lenet5",
            Dataset = new DatasetInfo("fashion-mnist", "/usr/share/datasets/fashion-mnist", 55000, 5000, 10000),
            Method = "relevance",
            Seed = 1234,
            Hyperparameters = new Dictionary<string, object>
            {
                ["lr"] = 0.0123456789012345,
                ["batch_size"] = 128,
                ["epochs"] = 40L,
                ["floor"] = 0.85,
                ["crop_fraction"] = 0.2,
                ["optimizer"] = "sgd|momentum",
                ["nesterov"] = true,
            },
            Backend = new BackendInfo(true, 2, "passed", 3.0517578125e-7, "2.7.1"),
            Dense = new DenseMetrics(0.9123456789012345, 0.9087000000000001, 61706),
            Final = new FinalMetrics(
                Validation: selected?.Validation ?? 0.9,
                Test: 0.8876543210987654,
                TotalParams: 61706,
                NonzeroParams: finalNonzero,
                RemainingFraction: finalRemaining,
                CompressionRatio: 61706.0 / finalNonzero,
                Step: selected?.Step ?? 0),
            Selection = "The sparsest checkpoint whose validation accuracy is ≥ the floor (85.00%).",
            Layers =
            [
                new LayerSparsity("conv1.weight", [6, 1, 5, 5], 150, 97, 97.0 / 150.0),
                new LayerSparsity("conv2.weight", [16, 6, 5, 5], 2400, 611, 611.0 / 2400.0),
                new LayerSparsity("fc1.weight", [120, 400], 48000, 6000, 0.125),
                new LayerSparsity("fc2.weight", [84, 120], 10080, 2215, 2215.0 / 10080.0),
                new LayerSparsity("fc3.weight", [10, 84], 840, 200, 200.0 / 840.0),
            ],
            Trajectory = trajectory,
            Timing = new TimingInfo(1234.5678, 3.25, 456.7, 777.8),
        };
    }

    // ---------------------------------------------------------------- JSON

    /// <summary>Serialize then deserialize keeps every value, including all digits of every double.</summary>
    [Fact]
    public void Json_RoundTrip_KeepsEveryValue()
    {
        var report = SampleReport();
        var back = ReportJson.Deserialize(ReportJson.Serialize(report));

        Assert.Equal(report.ToolVersion, back.ToolVersion);
        Assert.Equal(report.Model, back.Model);
        Assert.Equal(report.Dataset, back.Dataset);
        Assert.Equal(report.Method, back.Method);
        Assert.Equal(report.Seed, back.Seed);
        Assert.Equal(report.Backend, back.Backend);
        Assert.Equal(report.Dense, back.Dense);
        Assert.Equal(report.Final, back.Final);
        Assert.Equal(report.Selection, back.Selection);
        Assert.Equal(report.Timing, back.Timing);
        Assert.Equal(report.Trajectory, back.Trajectory); // records: value equality of every field

        Assert.Equal(report.Layers.Count, back.Layers.Count);
        for (var i = 0; i < report.Layers.Count; i++)
        {
            var (a, b) = (report.Layers[i], back.Layers[i]);
            Assert.Equal(a.Name, b.Name);
            Assert.Equal(a.Shape, b.Shape);
            Assert.Equal(a.Total, b.Total);
            Assert.Equal(a.Nonzero, b.Nonzero);
            Assert.Equal(a.RemainingFraction, b.RemainingFraction);
        }

        Assert.Equal(report.Hyperparameters.Keys.Order(StringComparer.Ordinal), back.Hyperparameters.Keys.Order(StringComparer.Ordinal));
        var hp = back.Hyperparameters.ToDictionary(kv => kv.Key, kv => (JsonElement)kv.Value);
        Assert.Equal(0.0123456789012345, hp["lr"].GetDouble());
        Assert.Equal(128, hp["batch_size"].GetInt32());
        Assert.Equal(40L, hp["epochs"].GetInt64());
        Assert.Equal(0.85, hp["floor"].GetDouble());
        Assert.Equal("sgd|momentum", hp["optimizer"].GetString());
        Assert.True(hp["nesterov"].GetBoolean());
    }

    /// <summary>Every required key is present under its snake_case path, with the right value.</summary>
    [Fact]
    public void Json_HasRequiredSnakeCaseKeys()
    {
        var report = SampleReport();
        using var doc = JsonDocument.Parse(ReportJson.Serialize(report));
        var root = doc.RootElement;

        foreach (var key in new[] { "tool_version", "model", "dataset", "method", "seed", "hyperparameters", "backend",
                     "dense", "final", "selection", "layers", "trajectory", "timing" })
        {
            Assert.True(root.TryGetProperty(key, out _), $"missing key '{key}'");
        }
        Assert.Equal("0.1.0-test", root.GetProperty("tool_version").GetString());
        Assert.Equal(1234, root.GetProperty("seed").GetInt32());
        Assert.Equal(55000, root.GetProperty("dataset").GetProperty("train_count").GetInt32());
        Assert.Equal(0.0123456789012345, root.GetProperty("hyperparameters").GetProperty("lr").GetDouble());
        Assert.True(root.GetProperty("backend").GetProperty("onednn").GetBoolean());
        Assert.Equal(3.0517578125e-7, root.GetProperty("backend").GetProperty("conv_grad_relative_error").GetDouble());

        var dense = root.GetProperty("dense");
        Assert.Equal(report.Dense.Validation, dense.GetProperty("validation").GetDouble());
        Assert.Equal(report.Dense.Test, dense.GetProperty("test").GetDouble());
        Assert.Equal(report.Dense.TotalParams, dense.GetProperty("total_params").GetInt64());

        var final = root.GetProperty("final");
        Assert.Equal(report.Final.Validation, final.GetProperty("validation").GetDouble());
        Assert.Equal(report.Final.Test, final.GetProperty("test").GetDouble());
        Assert.Equal(report.Final.TotalParams, final.GetProperty("total_params").GetInt64());
        Assert.Equal(report.Final.NonzeroParams, final.GetProperty("nonzero_params").GetInt64());
        Assert.Equal(report.Final.RemainingFraction, final.GetProperty("remaining_fraction").GetDouble());
        Assert.Equal(report.Final.CompressionRatio, final.GetProperty("compression_ratio").GetDouble());

        var layers = root.GetProperty("layers");
        Assert.Equal(report.Layers.Count, layers.GetArrayLength());
        var layer = layers[1];
        Assert.Equal("conv2.weight", layer.GetProperty("name").GetString());
        Assert.Equal(new long[] { 16, 6, 5, 5 }, layer.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(2400, layer.GetProperty("total").GetInt64());
        Assert.Equal(611, layer.GetProperty("nonzero").GetInt64());
        Assert.Equal(611.0 / 2400.0, layer.GetProperty("remaining_fraction").GetDouble());

        var trajectory = root.GetProperty("trajectory");
        Assert.Equal(report.Trajectory.Count, trajectory.GetArrayLength());
        for (var i = 0; i < report.Trajectory.Count; i++)
        {
            var (p, e) = (report.Trajectory[i], trajectory[i]);
            Assert.Equal(p.Step, e.GetProperty("step").GetInt64());
            Assert.Equal(p.Epoch, e.GetProperty("epoch").GetDouble());
            Assert.Equal(p.PrunableRemainingFraction, e.GetProperty("prunable_remaining_fraction").GetDouble());
            Assert.Equal(p.Validation, e.GetProperty("validation").GetDouble());
            Assert.Equal(p.Gamma, e.GetProperty("gamma").GetDouble());
        }

        var timing = root.GetProperty("timing");
        Assert.Equal(1234.5678, timing.GetProperty("seconds_total").GetDouble());
        Assert.Equal(3.25, timing.GetProperty("step_ms_median").GetDouble());
    }

    /// <summary>NaN and infinities do not crash the writer and come back unchanged.</summary>
    [Fact]
    public void Json_NonFiniteNumbers_RoundTrip()
    {
        var report = SampleReport(3) with
        {
            Final = SampleReport(3).Final with { CompressionRatio = double.PositiveInfinity, Validation = double.NaN },
            Timing = new TimingInfo(double.NegativeInfinity, double.NaN, 0, 0),
        };
        var back = ReportJson.Deserialize(ReportJson.Serialize(report));
        Assert.True(double.IsPositiveInfinity(back.Final.CompressionRatio));
        Assert.True(double.IsNaN(back.Final.Validation));
        Assert.True(double.IsNegativeInfinity(back.Timing.SecondsTotal));
        Assert.True(double.IsNaN(back.Timing.StepMsMedian));
    }

    /// <summary>Write puts the same JSON on disk, atomically, creating the directory.</summary>
    [Fact]
    public void Json_Write_ProducesReadableFile()
    {
        var report = SampleReport();
        var path = Path.Combine(_dir, "nested", "report.json");
        ReportJson.Write(report, path);
        var text = File.ReadAllText(path);
        Assert.Equal(ReportJson.Serialize(report) + "\n", text);
        Assert.Equal(report.Final, ReportJson.Deserialize(text).Final);
        Assert.Single(Directory.GetFiles(Path.GetDirectoryName(path)!));
    }

    // ---------------------------------------------------------------- Markdown

    /// <summary>The markdown has a row per layer, the final test accuracy and the settings.</summary>
    [Fact]
    public void Markdown_ContainsLayerRowsAndFinalTestAccuracy()
    {
        var report = SampleReport();
        var md = ReportMarkdown.Render(report);

        Assert.Contains("88.77%", md); // final test accuracy 0.88765… with two decimals
        Assert.Contains("90.87%", md); // dense test accuracy
        foreach (var layer in report.Layers)
        {
            var row = md.Split('\n').SingleOrDefault(l => l.StartsWith($"| `{layer.Name}` |", StringComparison.Ordinal));
            Assert.NotNull(row);
            Assert.Contains(layer.Total.ToString("N0", CultureInfo.InvariantCulture), row);
            Assert.Contains(layer.Nonzero.ToString("N0", CultureInfo.InvariantCulture), row);
            Assert.Contains((layer.RemainingFraction * 100).ToString("F2", CultureInfo.InvariantCulture) + "%", row);
        }
        Assert.Contains("| `fc1.weight` | 120 × 400 | 48,000 | 6,000 | 12.50% |", md);
        foreach (var key in report.Hyperparameters.Keys)
        {
            Assert.Contains($"| `{key}` |", md);
        }
        Assert.Contains("sgd\\|momentum", md); // pipes in values do not break the table
        Assert.Contains(report.Selection, md);
        var compression = (61706.0 / report.Final.NonzeroParams).ToString(report.Final.CompressionRatio >= 100 ? "F0" : "F1", CultureInfo.InvariantCulture);
        Assert.Contains($"| Compression | 1.0× | {compression}× |", md);
        Assert.DoesNotContain("Showing every", md); // 25 points: full table
        var trajectoryRows = md.Split('\n').Count(l => Regex.IsMatch(l, @"^\| (7|\d{1,3},007) \|"));
        Assert.Equal(report.Trajectory.Count, trajectoryRows);
    }

    /// <summary>Long trajectories are thinned to every k-th row plus the last, and the reader is told.</summary>
    [Fact]
    public void Markdown_LongTrajectory_IsThinned()
    {
        var report = SampleReport(250);
        var md = ReportMarkdown.Render(report);
        Assert.Contains("Showing every 5th of 250 evaluations, plus the last; the full trajectory is in `report.json`", md);
        var start = md.IndexOf("## Trajectory", StringComparison.Ordinal);
        var end = md.IndexOf("## Timing", StringComparison.Ordinal);
        var rows = md[start..end].Split('\n').Where(l => l.StartsWith("| ", StringComparison.Ordinal)).Skip(1).ToList();
        Assert.Equal(50 + 1, rows.Count); // indices 0,5,…,245 plus 249
        Assert.StartsWith("| 249,007 |", rows[^1], StringComparison.Ordinal);
    }

    // ---------------------------------------------------------------- CSV

    /// <summary>The CSV has the header, a row per point, and parses back to the same doubles.</summary>
    [Fact]
    public void Csv_OneRowPerPoint_ParsesBackExactly()
    {
        var report = SampleReport();
        var path = Path.Combine(_dir, "trajectory.csv");
        TrajectoryCsv.Write(report.Trajectory, report.Metric, path);
        var lines = File.ReadAllText(path).Split('\n');

        Assert.Equal("step,epoch,prunable_remaining_fraction,val_accuracy,val_loss,train_loss,gamma,pruned", lines[0]);
        Assert.Equal("", lines[^1]); // ends with a newline
        var rows = lines[1..^1];
        Assert.Equal(report.Trajectory.Count, rows.Length);
        for (var i = 0; i < rows.Length; i++)
        {
            var c = rows[i].Split(',');
            Assert.Equal(8, c.Length);
            var parsed = new TrajectoryPoint(
                long.Parse(c[0], CultureInfo.InvariantCulture),
                double.Parse(c[1], CultureInfo.InvariantCulture),
                double.Parse(c[2], CultureInfo.InvariantCulture),
                double.Parse(c[3], CultureInfo.InvariantCulture),
                double.Parse(c[4], CultureInfo.InvariantCulture),
                double.Parse(c[5], CultureInfo.InvariantCulture),
                double.Parse(c[6], CultureInfo.InvariantCulture),
                bool.Parse(c[7]));
            Assert.Equal(report.Trajectory[i], parsed);
        }
    }

    /// <summary>Non-finite values are written in a form that parses back.</summary>
    [Fact]
    public void Csv_NonFinite_ParsesBack()
    {
        var points = new[] { new TrajectoryPoint(1, 0.5, 1.0, double.NaN, double.PositiveInfinity, double.NegativeInfinity, 0, false) };
        var row = TrajectoryCsv.Render(points, MetricKind.Perplexity).Split('\n')[1].Split(',');
        Assert.True(double.IsNaN(double.Parse(row[3], CultureInfo.InvariantCulture)));
        Assert.True(double.IsPositiveInfinity(double.Parse(row[4], CultureInfo.InvariantCulture)));
        Assert.True(double.IsNegativeInfinity(double.Parse(row[5], CultureInfo.InvariantCulture)));
    }

    // ---------------------------------------------------------------- AtomicFile

    /// <summary>A successful write replaces the content and leaves no temporary file.</summary>
    [Fact]
    public void AtomicFile_Write_LeavesNoTempFile()
    {
        var path = Path.Combine(_dir, "sub", "out.txt");
        AtomicFile.WriteAllText(path, "first");
        AtomicFile.WriteAllText(path, "second ✓");
        AtomicFile.Write(Path.Combine(_dir, "sub", "stream.bin"), s => s.Write([1, 2, 3]));
        AtomicFile.WriteAllBytes(Path.Combine(_dir, "sub", "bytes.bin"), [4, 5]);

        Assert.Equal("second ✓", File.ReadAllText(path));
        Assert.Equal(Encoding.UTF8.GetBytes("second ✓"), File.ReadAllBytes(path)); // no BOM
        Assert.Equal(new byte[] { 1, 2, 3 }, File.ReadAllBytes(Path.Combine(_dir, "sub", "stream.bin")));
        Assert.Equal(new byte[] { 4, 5 }, File.ReadAllBytes(Path.Combine(_dir, "sub", "bytes.bin")));
        Assert.Equal(["bytes.bin", "out.txt", "stream.bin"],
            Directory.GetFiles(Path.Combine(_dir, "sub")).Select(Path.GetFileName).Order(StringComparer.Ordinal));
    }

    /// <summary>When the writer throws, the old content stays and the temporary file is removed.</summary>
    [Fact]
    public void AtomicFile_WriterThrows_KeepsOldContentAndRemovesTemp()
    {
        var path = Path.Combine(_dir, "keep.txt");
        AtomicFile.WriteAllText(path, "old content");

        var ex = Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(path, s =>
        {
            s.Write("new content, half written"u8);
            s.Flush();
            throw new InvalidOperationException("boom");
        }));
        Assert.Equal("boom", ex.Message);

        Assert.Equal("old content", File.ReadAllText(path));
        Assert.Equal([path], Directory.GetFiles(_dir));

        // A target that did not exist stays absent.
        var absent = Path.Combine(_dir, "never.txt");
        Assert.Throws<InvalidOperationException>(() => AtomicFile.Write(absent, _ => throw new InvalidOperationException()));
        Assert.False(File.Exists(absent));
        Assert.Equal([path], Directory.GetFiles(_dir));
    }

    // ---------------------------------------------------------------- Plots

    private static readonly byte[] PngSignature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];

    /// <summary>Both plots are non-trivial PNG files.</summary>
    [Fact]
    public void Plots_ArePngFiles()
    {
        var report = SampleReport(120);
        var accuracy = Path.Combine(_dir, "plots", "accuracy_vs_remaining.png");
        var layers = Path.Combine(_dir, "plots", "layer_sparsity.png");
        RunPlots.WriteAccuracyVsRemaining(report, accuracy);
        RunPlots.WriteLayerSparsity(report, layers);

        foreach (var path in new[] { accuracy, layers })
        {
            var bytes = File.ReadAllBytes(path);
            Assert.True(bytes.AsSpan().StartsWith(PngSignature), $"{path} is not a PNG");
            Assert.True(bytes.Length > 8 * 1024, $"{path} is only {bytes.Length} bytes");
            // IHDR: width and height, big-endian, at offsets 16 and 20.
            Assert.Equal(900, (bytes[16] << 24) | (bytes[17] << 16) | (bytes[18] << 8) | bytes[19]);
            Assert.Equal(500, (bytes[20] << 24) | (bytes[21] << 16) | (bytes[22] << 8) | bytes[23]);
        }
        Assert.Equal(2, Directory.GetFiles(Path.Combine(_dir, "plots")).Length);
    }

    /// <summary>The machine has a font, so the figures have text (without one they are drawn without any).</summary>
    [Fact]
    public void Plots_HaveAFontForText()
    {
        Assert.True(RunPlots.TextFont is not null,
            "SkiaSharp finds no font on this machine, so plots would have no text; install Debian's fonts-dejavu-core.");
    }

    /// <summary>Edge cases (empty trajectory, no layers, floor from JSON, zero remaining, NaN) render without throwing.</summary>
    [Fact]
    public void Plots_EdgeCases_DoNotThrow()
    {
        var empty = SampleReport(0) with { Layers = [] };
        RunPlots.WriteAccuracyVsRemaining(empty, Path.Combine(_dir, "a.png"));
        RunPlots.WriteLayerSparsity(empty, Path.Combine(_dir, "b.png"));

        var fromJson = ReportJson.Deserialize(ReportJson.Serialize(SampleReport(10)));
        Assert.True(RunPlots.TryGetFloorPercent(fromJson, out var floor));
        Assert.Equal(85.0, floor, 9);

        var collapsed = SampleReport(10);
        collapsed = collapsed with
        {
            Trajectory =
            [
                .. collapsed.Trajectory,
                collapsed.Trajectory[^1] with { Step = 99998, Validation = double.NaN },
                collapsed.Trajectory[^1] with { Step = 99999, PrunableRemainingFraction = 0, Validation = 0.1 },
            ],
            Final = collapsed.Final with { RemainingFraction = double.NaN, Validation = double.NaN },
            Layers = [.. collapsed.Layers, new LayerSparsity("head.bias", [], 1, 1, double.NaN)],
        };
        RunPlots.WriteAccuracyVsRemaining(collapsed, Path.Combine(_dir, "c.png"));
        RunPlots.WriteLayerSparsity(collapsed, Path.Combine(_dir, "d.png"));
        Assert.Contains("| `head.bias` | scalar | 1 | 1 | n/a |", ReportMarkdown.Render(collapsed));
        Assert.Equal(4, Directory.GetFiles(_dir).Length);
    }
}
