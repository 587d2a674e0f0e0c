using System.Globalization;
using Topiary.Bench;

// topiary-bench step [--rounds R] [--steps S]
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
    default:
        Console.Error.WriteLine($"topiary-bench: error: unknown benchmark '{command}' (available: step)");
        return 2;
}
