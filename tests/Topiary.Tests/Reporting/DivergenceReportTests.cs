using Topiary.Reporting;

namespace Topiary.Tests.Reporting;

public class DivergenceReportTests
{
    [Fact]
    public void Recoveries_from_divergence_appear_in_report_json_and_markdown()
    {
        var report = ReportWritersTests.SampleReport() with
        {
            Divergences = [new DivergenceEvent(13, "loss is NaN", 10, 5e-4)],
        };
        var json = ReportJson.Serialize(report);
        Assert.Contains("\"divergences\"", json);
        Assert.Contains("\"rolled_back_to_step\": 10", json);
        Assert.Equal(report.Divergences, ReportJson.Deserialize(json).Divergences);
        Assert.Contains("| 13 | loss is NaN | 10 | 0.0005 |", ReportMarkdown.Render(report));
    }
}
