using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The saved model a file command reads.</summary>
internal abstract class ModelFileSettings : CliSettings
{
    [CommandOption("--model-file <FILE>")]
    [Description("the model to read (required): a model.topiary written by topiary prune, or, where said, a sparse model file")]
    public string? ModelFile { get; init; }

    /// <summary>What the command reads, for the error when <c>--model-file</c> is missing.</summary>
    protected virtual string ModelFileHint => "the model.topiary of a run";

    /// <summary>The file; only read after validation, which requires it.</summary>
    public string File => ModelFile!;

    protected override IEnumerable<string?> Errors() =>
        [.. base.Errors(), ModelFile is null ? $"--model-file: required ({ModelFileHint})" : null];
}
