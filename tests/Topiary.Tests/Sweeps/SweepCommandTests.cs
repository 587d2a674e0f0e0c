using System.Diagnostics;
using System.Text.Json.Nodes;
using Topiary.Checkpoints;
using Topiary.Tests.Support;
using Topiary.Training;
using static Topiary.Tests.Sweeps.SweepFixture;

namespace Topiary.Tests.Sweeps;

/// <summary>
/// <c>topiary sweep</c> and <c>compare --local-jobs</c> with real child processes: the numbers of a sweep equal those of
/// a serial compare at the same threads per run, and every way a cell can end (finished, interrupted, held by another
/// runner, never started, edited after it ran) is handled and said.
/// </summary>
public class SweepCommandTests
{
    [Fact]
    public void Compare_in_two_local_processes_gives_the_numbers_of_a_serial_compare_at_one_thread_per_run()
    {
        using var dir = new TestDirectory();
        var data = SmallData(dir);
        var serial = dir.File("serial");
        Ok(CliProcess.Run(["compare", .. Flags(data), "--threads", "1", "--out", serial]), "serial compare");
        var parallel = dir.File("parallel");
        var swept = CliProcess.Run(["compare", .. Flags(data), "--threads", "2", "--local-jobs", "2", "--out", parallel]);
        Ok(swept, "compare --local-jobs 2");

        Assert.Contains("2 local processes × 1 thread", swept.StandardOutput);
        Assert.True(Complete(parallel));
        Assert.Equal(Numbers(serial), Numbers(parallel));
        Assert.Equal(6, Cells(Path.Combine(parallel, "sweep.json")).Count);
        foreach (var file in new[] { "comparison.md", "comparison.png", "run.json" }) Assert.True(File.Exists(Path.Combine(parallel, file)), file);

        // Run again: every cell is finished, nothing runs, the same numbers come out.
        var again = CliProcess.Run("compare", "--resume", parallel);
        Ok(again, "compare --resume");
        Assert.Contains("6 finished already", again.StandardOutput);
        Assert.Equal(Numbers(serial), Numbers(parallel));
    }

    [MachineLegFact("sweep orchestration")]
    public void A_cell_is_skipped_when_finished_refused_before_its_dense_cell_and_left_to_the_runner_that_holds_it()
    {
        using var dir = new TestDirectory();
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir), seeds: 1), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");

        var early = CliProcess.Run("sweep", "run-cell", manifest, "--index", "1");
        Assert.Equal(2, early.ExitCode);
        Assert.Contains("cell 1 (none seed 1234) starts from cell 0 (dense seed 1234), which has not finished", early.StandardError);

        Ok(CliProcess.Run("sweep", "run-cell", manifest, "--index", "0"), "dense cell");
        var twice = CliProcess.Run("sweep", "run-cell", manifest, "--index", "0");
        Ok(twice, "dense cell again");
        Assert.Contains("cell 0 (dense seed 1234): finished already; skipped", twice.StandardOutput);

        // Another runner holds cell 1: the lock is the cell folder's cell.lock, held exclusively.
        var folder = Path.Combine(sweep, Cells(manifest)[1]!["folder"]!.GetValue<string>());
        Directory.CreateDirectory(folder);
        using (new FileStream(Path.Combine(folder, "cell.lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            var loser = CliProcess.Run("sweep", "run-cell", manifest, "--index", "1");
            Assert.Equal(75, loser.ExitCode);
            Assert.Contains("cell 1 (none seed 1234) is being run by another runner", Assert.Single(loser.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
            Assert.False(File.Exists(Path.Combine(folder, "cell.json")), "the loser wrote into the cell");

            // A local runner leaves it too, runs the rest, and its collect names the held cell.
            var runner = CliProcess.Run("sweep", "run", manifest, "--local-jobs", "1");
            Assert.Equal(1, runner.ExitCode);
            Assert.Contains("cell 1 (none seed 1234): left to another runner", runner.StandardOutput);
            Assert.Contains("cell 1 (none seed 1234): running", runner.StandardOutput);
            Assert.Contains("] gmp ", runner.StandardOutput);
        }
        Ok(CliProcess.Run("sweep", "run-cell", manifest, "--index", "1"), "run cell once the lock is free");
    }

    [MachineLegFact("sweep orchestration")]
    public void Collect_names_the_cells_that_have_not_finished_and_never_calls_a_partial_result_complete()
    {
        using var dir = new TestDirectory();
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir)), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");
        foreach (var index in new[] { "0", "2" }) Ok(CliProcess.Run("sweep", "run-cell", manifest, "--index", index), $"cell {index}");

        var partial = CliProcess.Run("sweep", "collect", manifest);
        Assert.Equal(1, partial.ExitCode);
        Assert.Contains("sweep incomplete: 4 of 6 cells have not finished", partial.StandardError);
        foreach (var name in new[] { "cell 1 (dense seed 1235): not started", "cell 3 (gmp seed 1234): not started", "cell 5 (gmp seed 1235): not started" })
            Assert.Contains(name, partial.StandardOutput);
        Assert.False(Complete(sweep));
        Assert.Single(Numbers(sweep));

        var rest = CliProcess.Run("sweep", "run", manifest, "--local-jobs", "1");
        Ok(rest, "sweep run");
        Assert.Contains("2 finished already", rest.StandardOutput);
        Assert.True(Complete(sweep));
        Assert.Equal(4, Numbers(sweep).Count);
    }

    [MachineLegFact("sweep orchestration")]
    public void A_manifest_edited_after_cells_ran_is_refused_naming_the_cells_whose_settings_changed()
    {
        using var dir = new TestDirectory();
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir), seeds: 1), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");
        Ok(CliProcess.Run("sweep", "run-cell", manifest, "--index", "0"), "dense cell");

        var root = JsonNode.Parse(File.ReadAllText(manifest))!;
        root["cells"]![0]!["options"]!["dense-epochs"] = "2";
        File.WriteAllText(manifest, root.ToJsonString());
        foreach (var args in new[] { new[] { "sweep", "run-cell", manifest, "--index", "1" }, ["sweep", "collect", manifest] })
        {
            var refused = CliProcess.Run(args);
            Assert.Equal(2, refused.ExitCode);
            Assert.Contains("was edited after this cell ran with other settings: cell 0 (dense seed 1234)", Assert.Single(refused.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        }

        // Planning other settings into the same folder is refused too, naming the cells that differ.
        var replanned = CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir), seeds: 1, methods: "none,l1"), "--out", sweep]);
        Assert.Equal(2, replanned.ExitCode);
        Assert.Contains("holds a sweep planned with other settings", replanned.StandardError);
    }

    [MachineLegFact("sweep orchestration")]
    public void A_terminated_run_cell_continues_from_its_checkpoint_and_ends_with_the_numbers_of_an_uninterrupted_run()
    {
        using var dir = new TestDirectory();
        var data = SmallData(dir);
        var serial = dir.File("serial");
        Ok(CliProcess.Run(["compare", .. Flags(data, seeds: 1, methods: "gmp", epochs: "4"), "--threads", "1", "--out", serial]), "serial compare");
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(data, seeds: 1, methods: "gmp", epochs: "4"), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");
        Ok(CliProcess.Run("sweep", "run-cell", manifest, "--index", "0"), "dense cell");

        var folder = Path.Combine(sweep, Cells(manifest)[1]!["folder"]!.GetValue<string>());
        using (var process = CliProcess.Start("sweep", "run-cell", manifest, "--index", "1"))
        {
            CheckpointWait.Until(process, Path.Combine(folder, "checkpoint", CheckpointOptions.LastFileName), minimumStep: 6);
            using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) kill!.WaitForExit();
            Assert.True(process.WaitForExit(TimeSpan.FromMinutes(2)), "SIGTERM did not end the cell");
            Assert.Equal(143, process.ExitCode);
            Assert.Contains("cell 1 (gmp seed 1234) stopped at pruning step", process.StandardError.ReadToEnd());
        }
        Assert.Equal("running", JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "cell.json")))!["status"]!.GetValue<string>());
        var interrupted = CliProcess.Run("sweep", "collect", manifest);
        Assert.Contains("cell 1 (gmp seed 1234): interrupted", interrupted.StandardOutput);

        var resumed = CliProcess.Run("sweep", "run-cell", manifest, "--index", "1");
        Ok(resumed, "resumed cell");
        Assert.Contains("resume: continuing from", resumed.StandardOutput);
        Ok(CliProcess.Run("sweep", "collect", manifest), "collect");
        Assert.Equal(Numbers(serial), Numbers(sweep));
    }

    [Fact]
    public void A_grid_varies_a_method_setting_only_for_the_methods_that_take_it_and_other_flags_also_for_the_dense_models()
    {
        using var dir = new TestDirectory();
        var data = SmallData(dir);
        var methodGrid = dir.File("alpha");
        var plan = CliProcess.Run(["sweep", "plan", .. Flags(data, methods: "relevance,l2"), "--grid", "alpha=1,auto:0.5", "--grid", "gamma=1e-4,1e-3", "--out", methodGrid]);
        Ok(plan, "plan alpha × gamma");
        var cells = Cells(Path.Combine(methodGrid, "sweep.json"));
        string[] Labels(JsonArray all, string kind) => all.Where(c => c!["kind"]!.GetValue<string>() == kind).Select(c => c!["label"]!.GetValue<string>()).Distinct().ToArray();
        Assert.Equal(["dense"], Labels(cells, "dense"));
        Assert.Equal(2, cells.Count(c => c!["kind"]!.GetValue<string>() == "dense"));
        // relevance takes α and γ (4 points); l2 takes γ only (2 points).
        Assert.Equal(["relevance[alpha=1,gamma=1e-4]", "relevance[alpha=1,gamma=1e-3]", "relevance[alpha=auto:0.5,gamma=1e-4]", "relevance[alpha=auto:0.5,gamma=1e-3]",
            "l2[gamma=1e-4]", "l2[gamma=1e-3]"], Labels(cells, "run"));
        Assert.Equal(2 + 2 * 6, cells.Count);
        Assert.All(cells.Where(c => c!["label"]!.GetValue<string>().StartsWith("l2", StringComparison.Ordinal)), c => Assert.Null(c!["options"]!["alpha"]));

        // A training flag changes the dense models too: one dense cell per value and seed.
        var lrGrid = dir.File("lr");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(data, methods: "none"), "--grid", "lr=1e-3,3e-3", "--out", lrGrid]), "plan lr");
        var lrCells = Cells(Path.Combine(lrGrid, "sweep.json"));
        Assert.Equal(["dense[lr=1e-3]", "dense[lr=3e-3]"], Labels(lrCells, "dense"));
        Assert.Equal(4, lrCells.Count(c => c!["kind"]!.GetValue<string>() == "dense"));
        Assert.All(lrCells.Where(c => c!["kind"]!.GetValue<string>() == "run"), c =>
            Assert.Equal(c!["options"]!["lr"]!.GetValue<string>(), lrCells[c["depends_on"]![0]!.GetValue<int>()]!["options"]!["lr"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("--grid", "nonsense=1,2", "--grid: 'nonsense' is not a flag of topiary compare")]
    [InlineData("--grid", "alpha", "--grid: expected FLAG=VALUE,VALUE,…, got 'alpha'")]
    [InlineData("--grid", "seed=1,2", "--grid: seed cannot be an axis")]
    [InlineData("--grid", "alpha=1,", "--grid: expected FLAG=VALUE,VALUE,…, got 'alpha=1,'")]
    [InlineData("--grid", "alpha=1,banana", "(relevance[alpha=banana] seed 1234): --alpha: expected a number > 0 or auto:q")]
    [InlineData("--local-jobs", "2", "--local-jobs: sweep plan only writes the manifest")]
    public void Bad_sweep_plans_give_one_line_and_exit_2(string flag, string value, string expected)
    {
        using var dir = new TestDirectory();
        var result = CliProcess.Run("sweep", "plan", "--methods", "relevance,l2", flag, value, "--out", dir.File("sweep"));
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(expected, Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries)));
        Assert.False(File.Exists(Path.Combine(dir.File("sweep"), "sweep.json")), "a refused plan wrote its manifest");
    }

    [Fact]
    public void Bad_manifests_and_indices_give_one_line_naming_the_file_or_flag()
    {
        using var dir = new TestDirectory();
        var missing = CliProcess.Run("sweep", "collect", dir.File("nowhere.json"));
        Assert.Equal(2, missing.ExitCode);
        Assert.Contains("nowhere.json not found", missing.StandardError);

        var broken = dir.File("broken.json");
        File.WriteAllText(broken, "{ \"kind\": \"topiary-sweep\", \"version\": 1 }");
        var bad = CliProcess.Run("sweep", "run-cell", broken, "--index", "0");
        Assert.Equal(2, bad.ExitCode);
        Assert.Contains($"{broken}: field 'threads' is missing", bad.StandardError);

        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir), seeds: 1), "--out", sweep]), "plan");
        var outside = CliProcess.Run("sweep", "run-cell", Path.Combine(sweep, "sweep.json"), "--index", "9");
        Assert.Equal(2, outside.ExitCode);
        Assert.Contains("--index: ", outside.StandardError);
        Assert.Contains("has cells 0 to 2, got 9", outside.StandardError);
        var noIndex = CliProcess.Run("sweep", "run-cell", Path.Combine(sweep, "sweep.json"));
        Assert.Equal(2, noIndex.ExitCode);
        Assert.Contains("--index: required", noIndex.StandardError);
    }

    [Fact]
    public void Slurm_scripts_make_a_dense_array_and_a_dependent_throttled_array_of_the_other_cells()
    {
        using var dir = new TestDirectory();
        var sweep = dir.File("sweep");
        Ok(CliProcess.Run(["sweep", "plan", .. Flags(SmallData(dir)), "--out", sweep]), "plan");
        var manifest = Path.Combine(sweep, "sweep.json");
        var written = CliProcess.Run("sweep", "slurm", manifest, "--max-running", "3", "--mem", "2G", "--time", "0:30:00", "--partition", "debug");
        Ok(written, "sweep slurm");
        var dense = File.ReadAllText(Path.Combine(sweep, "slurm", "dense.sbatch"));
        var cells = File.ReadAllText(Path.Combine(sweep, "slurm", "cells.sbatch"));
        var submit = File.ReadAllText(Path.Combine(sweep, "slurm", "submit.sh"));
        Assert.Contains("#SBATCH --array=0-1%3\n", dense);
        Assert.Contains("#SBATCH --array=2-5%3\n", cells);
        foreach (var script in new[] { dense, cells })
        {
            Assert.Contains("#SBATCH --cpus-per-task=1\n", script);
            Assert.Contains("#SBATCH --mem=2G\n", script);
            Assert.Contains("#SBATCH --time=0:30:00\n", script);
            Assert.Contains("#SBATCH --partition=debug\n", script);
            Assert.Contains($"#SBATCH --output={Path.Combine(sweep, "logs")}/cell-%a.log\n", script);
            Assert.Contains($"sweep run-cell '{manifest}' --index \"$SLURM_ARRAY_TASK_ID\"", script);
        }
        Assert.Contains("--dependency=afterok:", submit);
        Assert.Contains("sbatch --array=I", written.StandardOutput);

        var badMemory = CliProcess.Run("sweep", "slurm", manifest, "--mem", "lots");
        Assert.Equal(2, badMemory.ExitCode);
        Assert.Contains("--mem: expected a size such as 3G", badMemory.StandardError);
    }
}
