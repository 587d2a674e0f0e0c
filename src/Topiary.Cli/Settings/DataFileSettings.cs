using System.ComponentModel;
using Spectre.Console.Cli;

namespace Topiary.Cli.Settings;

/// <summary>A saved model and the IDX data set it is measured on (<c>eval</c>, <c>trim</c>).</summary>
internal abstract class DataFileSettings : ModelFileSettings
{
    [CommandOption("--data <DIR>")]
    [Description("image models: IDX data set")]
    [DefaultValue(ModelDefaults.DataDirectory)]
    public string Data { get; init; } = ModelDefaults.DataDirectory;
}
