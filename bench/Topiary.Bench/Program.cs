using System.Globalization;
using Topiary.Bench;

// topiary-bench step [--rounds R] [--steps S]
// topiary-bench regularizers [--rounds R] [--steps S] [--model lenet5|lenet300]
var command = args.FirstOrDefault() ?? "step";
int Option(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length && int.TryParse(args[i + 1], NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0 ? v : fallback;
}
switch (command)
{
    case "step":
        return StepBenchmark.Run(Option("--rounds", 5), Option("--steps", 40));
    case "regularizers":
        var modelIndex = Array.IndexOf(args, "--model");
        var models = modelIndex >= 0 && modelIndex + 1 < args.Length ? new[] { args[modelIndex + 1] } : new[] { "lenet5", "lenet300" };
        return RegularizerBenchmark.Run(Option("--rounds", 5), Option("--steps", 6), models);
    default:
        Console.Error.WriteLine($"topiary-bench: error: unknown benchmark '{command}' (available: step, regularizers)");
        return 2;
}
