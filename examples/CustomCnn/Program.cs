// Your own CNN (BatchNorm, Dropout), TorchSharp's AdamW and cosine schedule, pruned by Topiary inside your own loop,
// then exported (sparse file, ONNX) and run on Topiary's sparse kernels. Checkpoints after every evaluation, so that a
// killed run continues with --resume.
//
// dotnet run --project examples/CustomCnn -c Release -- [--data DIR] [--subset N] [--dense-epochs N] [--epochs N]
//     [--eval-every N] [--threads N] [--out DIR] [--resume]
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Topiary.Data;
using Topiary.Inference;
using Topiary.Methods;
using Topiary.Pruning;
using Topiary.Training;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

var options = ExampleOptions.Parse(args);
set_num_threads(options.Threads);
using var data = ImageClassificationData.From(IdxReader.LoadDataset(options.Data), seed: 1, subset: options.Subset);
var stepsPerEpoch = data.StepsPerEpoch(100);
Directory.CreateDirectory(options.Out);
var checkpointPath = Path.Combine(options.Out, "session.ckpt");

manual_seed(1);
var model = nn.Sequential(
    ("conv1", nn.Conv2d(1, 32, 3, padding: 1)), ("bn1", nn.BatchNorm2d(32)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
    ("conv2", nn.Conv2d(32, 64, 3, padding: 1)), ("bn2", nn.BatchNorm2d(64)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
    ("flatten", nn.Flatten()), ("fc1", nn.Linear(64 * 7 * 7, 128)), ("relu3", nn.ReLU()), ("dropout", nn.Dropout(0.3)),
    ("fc2", nn.Linear(128, 10)));
var optimizer = optim.AdamW(model.parameters(), lr: 2e-3, weight_decay: 1e-4);

// One step of the user's own loop; the pruning session, when there is one, wraps the optimizer's step.
void Step(Tensor images, Tensor labels, optim.lr_scheduler.LRScheduler scheduler, PruningSession? pruning)
{
    using var scope = NewDisposeScope();
    optimizer.zero_grad();
    nn.functional.cross_entropy(model.forward(images), labels).backward();
    pruning?.BeforeStep();
    optimizer.step();
    scheduler.step();
    pruning?.AfterStep();
}

// Dense training (skipped on --resume: the checkpoint holds the pruning phase's model and the dense metrics).
using var saved = options.Resume ? SessionCheckpoint.Load(checkpointPath) : null;
double denseValidation, denseTest;
if (saved is null)
{
    var denseSchedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, options.DenseEpochs * stepsPerEpoch);
    model.train();
    for (var epoch = 0; epoch < options.DenseEpochs; epoch++)
        foreach (var (images, labels) in Batches(-1 - epoch))
            using (images) using (labels) Step(images, labels, denseSchedule, pruning: null);
    denseValidation = Accuracy(data.ValidationImages, data.ValidationLabels);
    denseTest = Accuracy(data.TestImages, data.TestLabels);
    Console.WriteLine($"dense: validation {denseValidation:P2}, test {denseTest:P2}, {Parameters(model):N0} parameters");
}
else
{
    (denseValidation, denseTest) = (saved.State["dense_validation"]!.GetValue<double>(), saved.State["dense_test"]!.GetValue<double>());
}

// Pruning: the flagship's relevance-gated decay and iterative crops while validation accuracy stays within half a point
// of the dense model's; a fresh cosine schedule over the pruning budget fine-tunes what remains.
foreach (var group in optimizer.ParamGroups) group.LearningRate = 2e-3;
var schedule = optim.lr_scheduler.CosineAnnealingLR(optimizer, options.Epochs * stepsPerEpoch);
using var pruning = new PruningSession(model, new RelevancePruning { Gamma = 1e-3, CropFraction = 0.15 },
    new PruningSessionSettings { Bound = new MetricFloor(denseValidation - 0.005), StepsPerEpoch = stepsPerEpoch, Patience = 1000 })
{
    Scheduler = schedule,
};
pruning.Attach(optimizer);
if (saved is not null)
{
    pruning.Restore(saved);
    Console.WriteLine($"resumed at pruning step {pruning.Step}");
}
model.train();
for (var epoch = (int)(pruning.Step / stepsPerEpoch); epoch < options.Epochs; epoch++)
{
    var done = epoch == pruning.Step / stepsPerEpoch ? (int)(pruning.Step % stepsPerEpoch) : 0;
    foreach (var (images, labels) in Batches(epoch, skip: done))
    {
        using (images) using (labels) Step(images, labels, schedule, pruning);
        if (pruning.Step % options.EvalEvery != 0) continue;
        var validation = Accuracy(data.ValidationImages, data.ValidationLabels);
        var outcome = pruning.Evaluate(validation);
        Console.WriteLine($"step {pruning.Step}: validation {validation:P2}, remaining {outcome.Remaining:P2}{(outcome.Pruned ? " (pruned)" : "")}");
        using var checkpoint = pruning.Capture();
        checkpoint.State["dense_validation"] = denseValidation;
        checkpoint.State["dense_test"] = denseTest;
        checkpoint.Save(checkpointPath);
    }
}
pruning.RestoreBest();
pruning.Bake();
var test = Accuracy(data.TestImages, data.TestLabels);
var (total, nonzero) = (Parameters(model), model.parameters().Sum(p => p.count_nonzero().item<long>()));
Console.WriteLine($"pruned: test {test:P2} (dense {denseTest:P2}), {nonzero:N0} of {total:N0} parameters remain ({(double)nonzero / total:P2}), selected at step {pruning.Selected!.Step}");

// Deployment: BatchNorm folds into the convolutions, dropout goes; the sparse file, ONNX, and Topiary's sparse kernels.
var network = SequentialNetworks.FromSequential(model, 1, 28, 28);
SparseModelFile.Save(Path.Combine(options.Out, "model.tsparse"), network, "custom-cnn");
OnnxExporter.Save(Path.Combine(options.Out, "model.onnx"), network);
using var sparse = new SparseInferenceModel(network);
var sparseTest = SparseAccuracy(sparse);
Console.WriteLine($"sparse inference: test {sparseTest:P2}; wrote {options.Out}/model.tsparse ({new FileInfo(Path.Combine(options.Out, "model.tsparse")).Length:N0} bytes) and model.onnx");

var summary = new JsonObject
{
    ["dense_validation"] = denseValidation, ["dense_test"] = denseTest, ["test"] = test, ["sparse_test"] = sparseTest,
    ["parameters"] = total, ["nonzero"] = nonzero, ["selected_step"] = pruning.Selected.Step,
    ["selected_validation"] = pruning.Selected.Validation.Metric,
};
File.WriteAllText(Path.Combine(options.Out, "summary.json"), summary.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
return 0;

// The batches of an epoch, in an order fixed by the epoch, from the (skip)-th on; the caller disposes each.
IEnumerable<(Tensor Images, Tensor Labels)> Batches(int epoch, int skip = 0)
{
    foreach (var index in data.EpochBatches(seed: 1, epoch, batchSize: 100))
        using (index)
        {
            if (skip-- > 0) continue;
            yield return (data.TrainImages.index_select(0, index), data.TrainLabels.index_select(0, index));
        }
}

double Accuracy(Tensor images, Tensor labels)
{
    var wasTraining = model.training;
    model.eval();
    using var _ = no_grad();
    long right = 0;
    for (long start = 0; start < images.shape[0]; start += 250)
    {
        using var scope = NewDisposeScope();
        var length = Math.Min(250, images.shape[0] - start);
        right += model.forward(images.narrow(0, start, length)).argmax(1).eq(labels.narrow(0, start, length)).sum().item<long>();
    }
    model.train(wasTraining);
    return (double)right / images.shape[0];
}

double SparseAccuracy(SparseInferenceModel sparseModel)
{
    long right = 0;
    for (long start = 0; start < data.TestImages.shape[0]; start += 250)
    {
        using var scope = NewDisposeScope();
        var length = Math.Min(250, data.TestImages.shape[0] - start);
        right += sparseModel.Forward(data.TestImages.narrow(0, start, length)).argmax(1).eq(data.TestLabels.narrow(0, start, length)).sum().item<long>();
    }
    return (double)right / data.TestImages.shape[0];
}

static long Parameters(nn.Module module) => module.parameters().Sum(p => p.numel());

/// <summary>The example's command line.</summary>
internal sealed record ExampleOptions(string Data, int? Subset, int DenseEpochs, int Epochs, int EvalEvery, int Threads, string Out, bool Resume)
{
    public static ExampleOptions Parse(string[] args)
    {
        string? Value(string name) => Array.IndexOf(args, name) is var i and >= 0 && i + 1 < args.Length ? args[i + 1] : null;
        int Number(string name, int fallback) => Value(name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;
        return new ExampleOptions(Value("--data") ?? "/usr/share/datasets/fashion-mnist", Value("--subset") is { } s ? int.Parse(s, CultureInfo.InvariantCulture) : null,
            Number("--dense-epochs", 5), Number("--epochs", 10), Number("--eval-every", 100), Number("--threads", Environment.ProcessorCount),
            Value("--out") ?? "runs/custom-cnn", args.Contains("--resume"));
    }
}
