using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Topiary.Tests.Support;

/// <summary>A user's own CNN on 28×28 images, from no catalogue: conv → BatchNorm → ReLU → pool, twice, then linear → dropout → linear.</summary>
internal static class UserCnn
{
    public static Sequential Create(double dropout = 0.2) => nn.Sequential(
        ("conv1", nn.Conv2d(1, 4, 3, padding: 1)), ("bn1", nn.BatchNorm2d(4)), ("relu1", nn.ReLU()), ("pool1", nn.MaxPool2d(2)),
        ("conv2", nn.Conv2d(4, 8, 3, padding: 1)), ("bn2", nn.BatchNorm2d(8)), ("relu2", nn.ReLU()), ("pool2", nn.MaxPool2d(2)),
        ("flatten", nn.Flatten()), ("fc1", nn.Linear(8 * 7 * 7, 32)), ("drop", nn.Dropout(dropout)), ("fc2", nn.Linear(32, 10)));
}
