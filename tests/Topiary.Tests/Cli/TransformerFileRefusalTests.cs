using Topiary.Language;
using Topiary.Models;
using Topiary.Serialization;
using Topiary.Tests.Support;
using static TorchSharp.torch;

namespace Topiary.Tests.Cli;

public class TransformerFileRefusalTests
{
    [Theory]
    [InlineData("export", "--format", "sparse")]
    [InlineData("export", "--format", "onnx")]
    [InlineData("simplify", "--out", "x.tsparse")]
    [InlineData("analyze", "--iterations", "2")]
    [InlineData("trim", "--out", "trimmed")]
    public void Image_only_commands_refuse_a_translation_model_in_one_line_naming_the_file(string command, string flag, string value)
    {
        manual_seed(1);
        var vocabulary = new TranslationVocabulary(new CharacterTokenizer(CharacterTokenizer.Unknown + "abc"));
        using var model = new TransformerTranslationModel(new TransformerConfig
        {
            VocabularySize = vocabulary.Size, ContextLength = 8, ModelDim = 8, Heads = 2, Layers = 1, FeedForwardDim = 16,
        });
        using var dir = new TestDirectory();
        var path = dir.File("mt.topiary");
        LanguageModelFile.Save(path, model, vocabulary, masks: null);

        var result = CliProcess.Run(command, "--model-file", path, flag, flag == "--out" ? dir.File(value) : value);

        Assert.NotEqual(0, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(path, line);
        Assert.Contains("transformer-mt", line);
        Assert.DoesNotContain("Exception", line);
    }
}
