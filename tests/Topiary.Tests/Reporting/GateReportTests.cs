using Topiary.Cli.Plots;
using Topiary.Regularization;
using Topiary.Reporting;

namespace Topiary.Tests.Reporting;

/// <summary>The relevance gate's optional section of report.json and report.md, and its plot (issue 16).</summary>
public class GateReportTests
{
    private static LayerGate Layer(string name, double median) =>
        new(name, 1e-3, [1e-5, 1e-4, 3e-4, 2e-3, 8e-3], [median / 4, median / 2, median, 0.95, 0.99], 0.25);

    private static RunReport WithGate() => ReportWritersTests.SampleReport() with
    {
        Gate = new GateTrace(GateQuantiles.Levels,
        [
            new GateEvaluation(250, [Layer("conv1.weight", 0.8), Layer("fc1.weight", 0.9)]),
            new GateEvaluation(500, [Layer("conv1.weight", 0.5), Layer("fc1.weight", 0.95)]),
            new GateEvaluation(750, [Layer("conv1.weight", 0.6), Layer("fc1.weight", 0.7)]),
        ]),
    };

    [Fact]
    public void The_gate_round_trips_through_report_json_and_older_reports_have_none()
    {
        var report = WithGate();
        var json = ReportJson.Serialize(report);
        Assert.Contains("\"gate\": {", json);
        Assert.Contains("\"below_half\": 0.25", json);
        var back = ReportJson.Deserialize(json).Gate!;
        Assert.Equal(report.Gate!.Levels, back.Levels);
        Assert.Equal(3, back.Evaluations.Count);
        Assert.Equal(report.Gate.Evaluations[1].Layers[0].Gate, back.Evaluations[1].Layers[0].Gate);

        var older = ReportJson.Serialize(ReportWritersTests.SampleReport());
        Assert.DoesNotContain("\"gate\"", older);
        Assert.Null(ReportJson.Deserialize(older).Gate);
    }

    [Fact]
    public void Report_md_shows_the_last_evaluation_and_how_the_median_gate_moved()
    {
        var md = ReportMarkdown.Render(WithGate());
        Assert.Contains("## Relevance gate", md);
        Assert.Contains("At the last evaluation (step 750)", md);
        Assert.Contains("| Layer | α | s 1% | s 10% | s 50% | s 90% | s 99% | gate 1% | gate 10% | gate 50% | gate 90% | gate 99% | gate < ½ |", md);
        Assert.Contains("| `conv1.weight` | 0.001 | 1E-05 | 0.0001 | 0.0003 | 0.002 | 0.008 | 0.15 | 0.3 | 0.6 | 0.95 | 0.99 | 25.0% |", md);
        Assert.Contains("| Layer | First (step 250) | Lowest | Highest | Last (step 750) |", md);
        Assert.Contains("| `conv1.weight` | 0.8 | 0.5 | 0.8 | 0.6 |", md);
        Assert.Contains("| `fc1.weight` | 0.9 | 0.7 | 0.95 | 0.7 |", md);
        Assert.DoesNotContain("## Relevance gate", ReportMarkdown.Render(ReportWritersTests.SampleReport()));
    }

    [Fact]
    public void The_gate_plot_is_a_png()
    {
        var bytes = GatePlot.Render(WithGate());
        Assert.True(bytes.Length > 1000);
        Assert.Equal(0x89, bytes[0]);
        Assert.Throws<ArgumentException>(() => GatePlot.Render(ReportWritersTests.SampleReport()));
    }
}
