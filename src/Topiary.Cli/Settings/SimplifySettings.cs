using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>The flags of <c>topiary simplify</c>.</summary>
internal sealed class SimplifySettings : ModelFileSettings
{
    [CommandOption("--out <FILE>")]
    [Description("the simplified network as a sparse model file (default: beside the input, .simplified.tsparse); topiary export --format onnx|pytorch converts it further")]
    public string? Out { get; init; }

    protected override string ModelFileHint => "a model.topiary or a sparse model file";

    /// <summary>The file to write: the flag, or beside the input.</summary>
    public string Output => Out ?? Path.ChangeExtension(File, ".simplified.tsparse");
}
