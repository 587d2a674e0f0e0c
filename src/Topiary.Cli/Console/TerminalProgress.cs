using System.Diagnostics;
using System.Globalization;
using Spectre.Console;
using Topiary.Training;

namespace Topiary.Cli.Console;

/// <summary>
/// Shows training progress: a live Spectre.Console display on a terminal, plain lines otherwise
/// (pipes, CI logs), so that redirected output stays readable.
/// </summary>
internal static class TerminalProgress
{
    public static bool IsInteractive => !System.Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;

    /// <summary>Runs <paramref name="work"/> with a progress sink matching the terminal; <paramref name="metric"/> names the validation metric.</summary>
    public static T Run<T>(Func<IProgress<TrainingProgress>, T> work, string metric = "accuracy")
    {
        if (!IsInteractive) return work(new PlainLines(metric));
        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .Start(context => result = work(new LiveTasks(context, metric)));
        return result;
    }

    public static string Describe(TrainingProgress p, string metric = "accuracy")
    {
        var parts = new List<string>
        {
            $"{p.Phase,-5}",
            $"epoch {p.Epoch}/{p.Epochs}",
            $"step {p.Step}/{p.TotalSteps}",
            $"loss {p.Loss.ToString("F4", CultureInfo.InvariantCulture)}",
        };
        if (p.Validation is { } acc)
            parts.Add(metric == "perplexity" ? $"val perplexity {acc.ToString("F3", CultureInfo.InvariantCulture)}" : $"val {(100 * acc).ToString("F2", CultureInfo.InvariantCulture)}%");
        parts.Add($"remaining {(100 * p.RemainingFraction).ToString("F2", CultureInfo.InvariantCulture)}%");
        if (p.Phase != "dense") parts.Add($"γ {p.Gamma.ToString("0.0e+0", CultureInfo.InvariantCulture)}");
        return string.Join("  ", parts);
    }

    private sealed class LiveTasks(ProgressContext context, string metric) : IProgress<TrainingProgress>
    {
        private readonly Dictionary<string, ProgressTask> tasks = new();

        public void Report(TrainingProgress value)
        {
            if (!tasks.TryGetValue(value.Phase, out var task))
            {
                foreach (var other in tasks.Values) other.Value = other.MaxValue;
                task = tasks[value.Phase] = context.AddTask(value.Phase, maxValue: Math.Max(1, value.TotalSteps));
            }
            task.Value = value.Step;
            task.Description = Markup.Escape(Describe(value, metric));
        }
    }

    private sealed class PlainLines(string metric) : IProgress<TrainingProgress>
    {
        private readonly Stopwatch clock = Stopwatch.StartNew();
        private string phase = "";
        private TimeSpan phaseStart;
        private TimeSpan? lastLine;

        public void Report(TrainingProgress value)
        {
            if (value.Phase != phase)
            {
                phase = value.Phase;
                phaseStart = clock.Elapsed;
            }
            // A line every 5 s at most: enough to follow a run, little enough to read a log.
            if (lastLine is { } last && clock.Elapsed - last < TimeSpan.FromSeconds(5) && value.Step != value.TotalSteps) return;
            lastLine = clock.Elapsed;
            var elapsed = clock.Elapsed - phaseStart;
            var eta = value.Step > 0 ? TimeSpan.FromSeconds(elapsed.TotalSeconds / value.Step * (value.TotalSteps - value.Step)) : TimeSpan.Zero;
            System.Console.WriteLine($"{Describe(value, metric)}  eta {eta:hh\\:mm\\:ss}");
        }
    }
}
