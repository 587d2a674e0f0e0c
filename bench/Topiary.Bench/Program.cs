using System.Globalization;
using Topiary.Bench;

// topiary-bench step [--rounds R] [--steps S]
// topiary-bench inference [--rounds R] [--threads N] [--model lenet300|lenet5|cnn|linear4096]
// topiary-bench throughput [--rounds R] [--threads N] [--model lenet300|lenet5|cnn]
// topiary-bench stages [--rounds R] [--threads N] [--model M] [--sparsity S] [--batch B]
// topiary-bench crossover [--rounds R] [--threads N]
// topiary-bench fallback [--rounds R] [--threads N]
// topiary-bench size
// topiary-bench regularizers [--rounds R] [--steps S] [--model lenet5|lenet300] [--only NAME,...]
// topiary-bench sweep [--jobs K] [-- compare flags]
Topiary.Experiments.CatalogArchitectures.Register();
var command = args.FirstOrDefault() ?? "step";
int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
// libtorch and Topiary's kernels get the same thread count, so that neither has more cores than the other.
void UseThreads()
{
    var threads = Option("--threads", Environment.ProcessorCount);
    Topiary.Backend.TorchBackend.EnsureVerified();
    Topiary.Backend.TorchBackend.SetThreads(threads);
    Topiary.Inference.KernelThreads.Count = threads;
}
switch (command)
{
    case "step":
        return StepBenchmark.Run(Option("--rounds", 5), Option("--steps", 40));
    case "inference":
    {
        var model = Array.IndexOf(args, "--model") is var m and >= 0 && m + 1 < args.Length ? args[m + 1] : null;
        UseThreads();
        return InferenceBenchmark.Run(Option("--rounds", 31), model);
    }
    case "throughput":
    {
        var model = Array.IndexOf(args, "--model") is var m and >= 0 && m + 1 < args.Length ? args[m + 1] : null;
        UseThreads();
        return ThroughputBenchmark.Run(Option("--rounds", 5), model, 0.5);
    }
    case "stages":
    {
        string Text(string name, string fallback) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
        UseThreads();
        return StageBenchmark.Run(Option("--rounds", 31), Text("--model", "lenet5"), double.Parse(Text("--sparsity", "0.95"), CultureInfo.InvariantCulture), Option("--batch", 1));
    }
    case "crossover":
    {
        UseThreads();
        return CrossoverBenchmark.Run(Option("--rounds", 21));
    }
    case "fallback":
    {
        UseThreads();
        return FallbackBenchmark.Run(Option("--rounds", 31));
    }
    case "size":
        return SizeBenchmark.Run();
    case "regularizers":
        var modelIndex = Array.IndexOf(args, "--model");
        var models = modelIndex >= 0 && modelIndex + 1 < args.Length ? new[] { args[modelIndex + 1] } : new[] { "lenet5", "lenet300" };
        var onlyIndex = Array.IndexOf(args, "--only");
        var only = onlyIndex >= 0 && onlyIndex + 1 < args.Length ? args[onlyIndex + 1].Split(',', StringSplitOptions.TrimEntries) : null;
        return RegularizerBenchmark.Run(Option("--rounds", 5), Option("--steps", 6), models, only);
    case "sweep":
    {
        var rest = Array.IndexOf(args, "--");
        return SweepBenchmark.Run(Option("--jobs", 2), rest >= 0 ? args[(rest + 1)..] : []);
    }
    default:
        Console.Error.WriteLine($"topiary-bench: error: unknown benchmark '{command}' (available: step, inference, throughput, stages, crossover, fallback, size, regularizers, sweep)");
        return 2;
}
