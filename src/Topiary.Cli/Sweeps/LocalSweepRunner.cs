using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Topiary.Cli.Commands;
using Topiary.Cli.Runs;
using Topiary.Cli.Settings;

namespace Topiary.Cli.Sweeps;

/// <summary>
/// Runs the cells of a manifest in K local processes (<c>topiary sweep run --local-jobs K</c>, <c>topiary compare
/// --local-jobs K</c>): the lowest-numbered cell whose dense cell has finished goes next, each worker is
/// <c>topiary sweep run-cell</c> with its output in <c>logs/cell-I.log</c>, and the finished cells are collected at the
/// end. Finished cells are skipped, so running it again continues a sweep; a stop (Ctrl-C, SIGTERM) passes SIGTERM to the
/// workers, which checkpoint.
/// </summary>
internal static class LocalSweepRunner
{
    /// <summary><c>topiary compare --local-jobs K</c>: plans the comparison into its folder (or finds the same plan there), runs it, collects it.</summary>
    public static int Compare(CompareSettings settings, int jobs, ILogger logger, CancellationToken cancellationToken)
    {
        var threads = Math.Max(1, settings.ThreadCount / jobs);
        var path = Path.Combine(settings.OutDirectory, SweepManifest.FileName);
        var manifest = SweepPlanner.Plan(settings, [], threads, path);
        manifest.WriteOrKeep("--out");
        if (settings.Resume is null) RunConfiguration.From(GivenOptions.Text(settings), settings.ThreadCount, "compare").Write(settings.OutDirectory);
        return Run(manifest, jobs, cancellationToken);
    }

    /// <summary>Runs every unfinished cell in <paramref name="jobs"/> processes, then collects; returns the exit code.</summary>
    public static int Run(SweepManifest manifest, int jobs, CancellationToken cancellationToken)
    {
        manifest.RequireUnchanged();
        var cells = manifest.Cells;
        var state = cells.ToDictionary(c => c.Index, c => CellRecord.Read(manifest.FolderOf(c)) is { Status: CellStatus.Finished } ? Outcome.Finished : Outcome.Pending);
        var kept = state.Count(s => s.Value == Outcome.Finished);
        System.Console.WriteLine($"topiary {ToolInfo.Version} sweep: {manifest.Path}: {cells.Count} cells ({manifest.DenseCells.Count} dense), " +
            $"{kept} finished already; {jobs} local process{(jobs == 1 ? "" : "es")} × {manifest.Threads} thread{(manifest.Threads == 1 ? "" : "s")}");
        var logs = Path.Combine(manifest.Directory, "logs");
        Directory.CreateDirectory(logs);
        var running = new Dictionary<int, Worker>();
        // Any worker's exit wakes the loop (WaitHandle.WaitAny would cap the workers at 63). Not disposed: a worker still
        // exiting after an interruption may set it late.
        var anyExited = new AutoResetEvent(false);
        var done = kept;
        try
        {
            while (true)
            {
                foreach (var cell in cells.Where(c => state[c.Index] == Outcome.Pending))
                {
                    if (cell.DependsOn.Where(d => state[d] is Outcome.Failed or Outcome.Skipped or Outcome.Busy).Select(d => (int?)d).FirstOrDefault() is { } blocker)
                    {
                        state[cell.Index] = Outcome.Skipped;
                        var why = state[blocker] == Outcome.Busy ? "is run by another runner" : "did not finish";
                        System.Console.WriteLine($"[{++done}/{cells.Count}] {cell.Name}: skipped, it starts from {cells[blocker].Name}, which {why}");
                    }
                }
                foreach (var cell in cells.Where(c => state[c.Index] == Outcome.Pending && c.DependsOn.All(d => state[d] == Outcome.Finished)))
                {
                    if (running.Count >= jobs) break;
                    state[cell.Index] = Outcome.Running;
                    running[cell.Index] = Worker.Start(manifest, cell, Path.Combine(logs, $"cell-{cell.Index}.log"), anyExited);
                }
                if (running.Count == 0) break;
                var ended = running.Values.FirstOrDefault(w => w.HasExited);
                if (ended is null)
                {
                    WaitHandle.WaitAny([anyExited, cancellationToken.WaitHandle]);
                    cancellationToken.ThrowIfCancellationRequested();
                    continue;
                }
                running.Remove(ended.Cell.Index);
                var record = CellRecord.Read(manifest.FolderOf(ended.Cell));
                var ok = ended.ExitCode == 0 && record is { Status: CellStatus.Finished };
                state[ended.Cell.Index] = ok ? Outcome.Finished : ended.ExitCode == CellBusyException.ExitCode ? Outcome.Busy : Outcome.Failed;
                System.Console.WriteLine(Line(++done, cells.Count, ended, record, ok, manifest));
                ended.Dispose();
            }
        }
        catch (OperationCanceledException e)
        {
            foreach (var worker in running.Values) worker.Terminate();
            foreach (var worker in running.Values) worker.WaitAndDispose();
            throw new RunInterruptedException($"stopped; finished cells are kept and interrupted ones checkpointed; continue with: topiary sweep run {manifest.Path} --local-jobs {jobs}", e);
        }
        return SweepCollector.Run(manifest);
    }

    private static string Line(int done, int total, Worker worker, CellRecord? record, bool ok, SweepManifest manifest)
    {
        var cell = worker.Cell;
        var seconds = (DateTime.Now - worker.Started).TotalSeconds.ToString("F0", CultureInfo.InvariantCulture);
        if (worker.ExitCode == CellBusyException.ExitCode) return $"[{done}/{total}] {cell.Name}: left to another runner ({worker.LastError})";
        if (!ok)
        {
            var log = Path.GetRelativePath(manifest.Directory, worker.LogPath);
            return $"[{done}/{total}] {cell.Name}: failed (exit {worker.ExitCode}): {worker.LastError ?? record?.Failure ?? "no message"}; see {log}";
        }
        if (record!.Run is { } run) return ComparisonRunner.RunLine(done, total, run, record.Metric!, $"{seconds} s");
        return $"[{done}/{total}] dense       seed {cell.Seed}: test {record.Metric!.Name} {record.Metric.Format(record.DenseTestMetric ?? double.NaN)}, {seconds} s";
    }

    private enum Outcome { Pending, Running, Finished, Failed, Skipped, Busy }

    /// <summary>One <c>topiary sweep run-cell</c> process, its output appended to the cell's log.</summary>
    private sealed class Worker : IDisposable
    {
        private readonly Process _process;
        private readonly StreamWriter _log;
        private readonly ManualResetEvent _exited = new(false);
        private readonly AutoResetEvent _anyExited;

        private Worker(SweepCell cell, Process process, StreamWriter log, string logPath, AutoResetEvent anyExited)
        {
            (Cell, _process, _log, LogPath, _anyExited) = (cell, process, log, logPath, anyExited);
        }

        public SweepCell Cell { get; }
        public string LogPath { get; }
        public DateTime Started { get; } = DateTime.Now;
        public string? LastError { get; private set; }
        public bool HasExited => _exited.WaitOne(0);
        public int ExitCode => _process.ExitCode;

        public static Worker Start(SweepManifest manifest, SweepCell cell, string logPath, AutoResetEvent anyExited)
        {
            var (program, prefix) = SelfCommand.Resolve();
            var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var word in prefix.Concat(["sweep", "run-cell", manifest.Path, "--index", cell.Index.ToString(CultureInfo.InvariantCulture)]))
                start.ArgumentList.Add(word);
            var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
            var process = new Process { StartInfo = start, EnableRaisingEvents = true };
            var worker = new Worker(cell, process, log, logPath, anyExited);
            process.OutputDataReceived += (_, e) => worker.Append(e.Data, error: false);
            process.ErrorDataReceived += (_, e) => worker.Append(e.Data, error: true);
            process.Exited += (_, _) => worker.OnExit();
            process.Start();
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();
            return worker;
        }

        private void Append(string? line, bool error)
        {
            if (line is null) return;
            lock (_log) _log.WriteLine(line);
            if (error && line.Length > 0) LastError = line;
        }

        private void OnExit()
        {
            // The output streams may still hold lines after the process ended; WaitForExit() drains them.
            _process.WaitForExit();
            // Its own signal first: the loop, woken by the shared one, must find this worker exited.
            _exited.Set();
            _anyExited.Set();
        }

        /// <summary>SIGTERM: the worker checkpoints and exits (Process.Kill would send SIGKILL and lose the step).</summary>
        public void Terminate()
        {
            if (HasExited) return;
            if (OperatingSystem.IsWindows()) _process.Kill();
            else
            {
                using var kill = Process.Start(new ProcessStartInfo("kill", ["-TERM", _process.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
                kill?.WaitForExit();
            }
        }

        public void WaitAndDispose()
        {
            _exited.WaitOne(TimeSpan.FromMinutes(2));
            Dispose();
        }

        public void Dispose()
        {
            _process.Dispose();
            lock (_log) _log.Dispose();
            _exited.Dispose();
        }
    }
}
