using System.Text.Json;
using Xunit.Abstractions;
using Topiary.Inference;
using Topiary.Tests.Support;

namespace Topiary.Tests.Deployment;

/// <summary>
/// The <c>.pt</c> export loaded by real PyTorch through scripts/check-pytorch-export.py: torch.load, the same
/// values as the safetensors export, load_state_dict(strict=True) into a torch.nn module, and that module's output
/// equal to TorchSharp's. Skipped where no python3 has PyTorch (it is optional; the bootstrap does not install it).
/// </summary>
public class PyTorchLoadTests(ITestOutputHelper log)
{
    [TorchPythonFact]
    public void Pytorch_loads_the_export_and_computes_what_torchsharp_computes()
    {
        var networks = new[]
        {
            ("lenet300", PrunedNetworks.Network("lenet300", 0.95)),
            ("lenet5", PrunedNetworks.Network("lenet5", 0.9)),
            // Odd shapes: dead neurons and filters physically removed.
            ("lenet5-simplified", NetworkSimplifier.Simplify(PrunedNetworks.Network("lenet5", 0.99)).Network),
        };
        foreach (var (name, network) in networks)
        {
            using var dir = new TestDirectory();
            PyTorchExporter.Save(dir.File("m.pt"), network);
            SafetensorsExporter.Save(dir.File("m.safetensors"), network);
            WriteReference(dir.File("reference.json"), network);

            var output = Python3.RunWith(Python3.WithTorch.Value!, "check-pytorch-export.py", dir.File("m.pt"),
                "--safetensors", dir.File("m.safetensors"), "--reference", dir.File("reference.json"));

            log.WriteLine($"{name}:\n{output}");
            Assert.Contains("load_state_dict(strict=True)", output);
            Assert.Contains("max |torch - TorchSharp|", output);
            Assert.True(output.TrimEnd().EndsWith("OK", StringComparison.Ordinal), $"{name}: {output}");
        }
    }

    /// <summary>TorchSharp's output (<see cref="TorchNetwork"/>) on four fixed images, as JSON (floats round-trip exactly).</summary>
    private static void WriteReference(string path, SequentialNetwork network)
    {
        using var torchNetwork = new TorchNetwork(network);
        using var input = PrunedNetworks.Images(4);
        using var output = torchNetwork.forward(input);
        File.WriteAllText(path, JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["input_shape"] = input.shape,
            ["input"] = input.flatten().data<float>().ToArray(),
            ["output"] = output.flatten().data<float>().ToArray(),
        }));
    }
}
