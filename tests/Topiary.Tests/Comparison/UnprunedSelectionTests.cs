using Topiary.Comparison;
using Topiary.Reporting;

namespace Topiary.Tests.Comparison;

/// <summary>A method whose selection kept the dense model is named under the summary, so its 100 % row is not read as a pruned result.</summary>
public class UnprunedSelectionTests
{
    private static ComparisonReport Report(params ComparisonRun[] runs)
    {
        var methods = runs.Select(r => r.Method).Distinct().ToList();
        return new ComparisonReport
        {
            ToolVersion = "test", Model = "lenet300", Dataset = "synthetic", Metric = MetricKind.Accuracy, Methods = methods, Seeds = [1, 2],
            Settings = new Dictionary<string, object>(), Runs = runs, Summaries = MethodStatistics.Summarize(methods, runs), SecondsTotal = 1,
        };
    }

    [Fact]
    public void A_method_that_kept_its_dense_model_is_named_with_how_many_runs_did()
    {
        var report = Report(
            new ComparisonRun("rigl", 1, 0.87, 0.88, 0.87, 1.0, 0.87, true, 1), new ComparisonRun("rigl", 2, 0.87, 0.88, 0.87, 0.02, 0.87, true, 1),
            new ComparisonRun("gmp", 1, 0.87, 0.88, 0.88, 0.02, 0.87, true, 1), new ComparisonRun("gmp", 2, 0.87, 0.88, 0.88, 0.02, 0.87, true, 1));
        var lines = ComparisonMarkdown.UnprunedSelections(report)!;
        Assert.Equal("- rigl: in 1 of 2 runs no pruned model met the bound, so the selection kept the dense model; its row describes that model. Loosen the floor or lengthen the pruning budget to compare it pruned.\n", lines);
        Assert.Contains(lines, ComparisonMarkdown.Render(report));
    }

    [Fact]
    public void Nothing_is_said_when_every_run_pruned()
    {
        var report = Report(new ComparisonRun("gmp", 1, 0.87, 0.88, 0.88, 0.02, 0.87, true, 1));
        Assert.Null(ComparisonMarkdown.UnprunedSelections(report));
    }
}
