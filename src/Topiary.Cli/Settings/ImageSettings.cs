using System.ComponentModel;
using Spectre.Console.Cli;
using Topiary.Training;
using Topiary.Experiments;

namespace Topiary.Cli.Settings;

/// <summary>The flags of the image models in <c>prune</c> and <c>compare</c>: their data and their accuracy gate.</summary>
internal abstract class ImageSettings : TrainingSettings
{
    [CommandOption("--data <DIR>")]
    [Description("lenet5, lenet300: IDX data set (default " + ModelDefaults.DataDirectory + ")")]
    [AppliesTo(ModelFamily.Image, AppliesToAttribute.Topic.Input)]
    public string? Data { get; init; }

    [CommandOption("--floor <B>")]
    [Description("lenet5, lenet300: validation accuracy floor for cropping and selection, from 0 to 1 (default 0.895; paper 0.905; compare 0.87)")]
    [AppliesTo(ModelFamily.Image, AppliesToAttribute.Topic.Gate)]
    public double? Floor { get; init; }

    /// <summary>The IDX folder to read: the flag, or Fashion-MNIST's.</summary>
    public string DataDirectory => Data ?? ModelDefaults.DataDirectory;

    public override PruningOptions OverTraining(PruningOptions defaults) => base.OverTraining(defaults) with { Floor = Floor ?? defaults.Floor };
}
