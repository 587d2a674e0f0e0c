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

    [CommandOption("--augment <SPEC>")]
    [Description("lenet5, lenet300: augment the training batches of the dense and pruning phases (never validation or test), a comma-separated list applied in this order: shift[[:pixels=K]], each image moved by up to K pixels along each axis, the mean pixel shifted in (default 2); flip[[:p=P]], each image mirrored left to right with probability P (default 0.5; for classes a mirror keeps, as clothing); cutout[[:size=S]][[:p=P]], one S×S square per image set to the mean pixel, centred anywhere and clipped at the border, with probability P (default size 14, p 1; DeVries & Taylor 2017). Example: shift,flip")]
    [AppliesTo(ModelFamily.Image)]
    public string? Augment { get; init; }

    [CommandOption("--data-diet <SPEC>")]
    [Description("lenet5, lenet300: train on part of the training split only: el2n or grand, optionally with :keep=F:offset=O:epochs=E:runs=K (any of them); every example is scored by EL2N (‖softmax − onehot‖) or GraNd (‖∇w loss‖) after E epochs, averaged over K runs, and the highest-scoring fraction F is kept after dropping the top fraction O (default keep 0.5, offset 0, epochs 1, runs 2; Paul et al. 2021)")]
    [AppliesTo(ModelFamily.Image)]
    public string? DataDiet { get; init; }

    /// <summary>The IDX folder to read: the flag, or Fashion-MNIST's.</summary>
    public string DataDirectory => Data ?? ModelDefaults.DataDirectory;

    /// <summary>
    /// The data-level regularizers the flags give, the diet's scoring runs trained with <paramref name="training"/>'s
    /// optimizer and batch size; null when neither flag is given (or one is not valid: <see cref="Errors"/> says why).
    /// </summary>
    public ImageDataRegimen? Regimen(PruningOptions training)
    {
        var augmentation = Augment is null ? null : DataLevelArguments.Augmentation("--augment", Augment, out _);
        var diet = DataDiet is null ? null : DataLevelArguments.Diet("--data-diet", DataDiet, out _);
        return augmentation is null && diet is null ? null : new ImageDataRegimen(augmentation, diet, training);
    }

    protected override IEnumerable<string?> Errors() =>
    [
        .. base.Errors(),
        Augment is null || DataLevelArguments.Augmentation("--augment", Augment, out var augmentError) is not null ? null : augmentError,
        DataDiet is null || DataLevelArguments.Diet("--data-diet", DataDiet, out var dietError) is not null ? null : dietError,
    ];

    public override PruningOptions OverTraining(PruningOptions defaults) => base.OverTraining(defaults) with { Floor = Floor ?? defaults.Floor };
}
