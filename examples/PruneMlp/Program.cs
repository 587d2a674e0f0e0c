// Prune your own MLP with Topiary's runner: no training loop to write.
// dotnet run --project examples/PruneMlp [DATA_DIR [EPOCHS [SUBSET]]]
using Topiary.Data;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Training;
using static TorchSharp.torch;

var dataDirectory = args.ElementAtOrDefault(0) ?? "/usr/share/datasets/fashion-mnist";
var epochs = int.Parse(args.ElementAtOrDefault(1) ?? "4");
using var images = ImageClassificationData.From(IdxReader.LoadDataset(dataDirectory), seed: 1, subset: args.Length > 2 ? int.Parse(args[2]) : null);
var model = nn.Sequential(nn.Flatten(), nn.Linear(784, 300), nn.ReLU(), nn.Linear(300, 100), nn.ReLU(), nn.Linear(100, 10));
var result = PruningRunner.Run(model, images.ToPruningData(), new PruningRunSettings { Method = new RelevancePruning(), Bound = new MetricFloor(0.85), Epochs = epochs },
    (output, target) => nn.functional.cross_entropy(output, target), ValidationMetric.Accuracy, name: "mlp");
result.WriteReport("runs/mlp");
Console.WriteLine($"{result.Report.Final.RemainingFraction:P2} of the parameters remain; test accuracy {result.Report.Final.Test:P2} (report in runs/mlp)");
