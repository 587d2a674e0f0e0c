using Topiary.Cli.Settings;
using Topiary.Experiments;
using Topiary.Methods;
using Topiary.Tests.Support;

namespace Topiary.Tests.Cli;

/// <summary>
/// The catalogue's further regularizers and the muon and steepest optimizers were validated on the image models only:
/// on a Transformer they are refused before any training, in one line naming the flag.
/// </summary>
public class TransformerCatalogueRefusalTests
{
    [Theory]
    [InlineData("prune", "transformer-lm", "--reg", "spectral:1e-3", "--reg")]
    [InlineData("prune", "transformer-mt", "--reg", "so:1e-4", "--reg")]
    [InlineData("prune", "transformer-lm", "--optimizer", "muon", "--optimizer")]
    [InlineData("prune", "transformer-mt", "--optimizer", "steepest", "--optimizer")]
    [InlineData("compare", "transformer-lm", "--reg", "spectral:1e-3", "--reg")]
    [InlineData("compare", "transformer-mt", "--optimizer", "muon", "--optimizer")]
    [InlineData("compare", "transformer-lm", "--methods", "relevance,none+spectral:1e-3", "--reg")]
    [InlineData("compare", "transformer-mt", "--methods", "l2[reg=so:1e-4]", "--reg")]
    public void Unvalidated_catalogue_flags_are_refused_on_the_transformers_in_one_line(string command, string model, string flag, string value, string named)
    {
        var result = CliProcess.Run(command, "--model", model, flag, value);

        Assert.Equal(2, result.ExitCode);
        var line = Assert.Single(result.StandardError.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains(named, line);
        Assert.Contains("transformer-", line);
        Assert.DoesNotContain("Exception", line);
        Assert.DoesNotContain("dense", result.StandardOutput, StringComparison.OrdinalIgnoreCase);   // refused before any training
    }

    [Fact]
    public void The_library_refuses_them_for_a_subject_that_lists_its_methods_and_allows_them_otherwise()
    {
        var withReg = new PruneSettings { Method = "none", Reg = "spectral:1e-3" }.Options();
        var muon = new PruneSettings { Method = "l2", Optimizer = "muon" }.Options();
        var sgd = new PruneSettings { Method = "l2", Optimizer = "sgd" }.Options();

        var reg = Assert.Throws<PruningOptionException>(() => Experiment.RequireSupported("transformer-lm", LanguageModelSubject.SupportedMethods, withReg));
        Assert.Equal(nameof(PruningMethod.Extra), reg.Property);
        var optimizer = Assert.Throws<PruningOptionException>(() => Experiment.RequireSupported("transformer-mt", LanguageModelSubject.SupportedMethods, muon));
        Assert.Equal(nameof(PruningOptions.Optimizer), optimizer.Property);
        Experiment.RequireSupported("transformer-lm", LanguageModelSubject.SupportedMethods, sgd);
        Experiment.RequireSupported("lenet300", null, withReg);   // the image models take the whole catalogue
        Experiment.RequireSupported("lenet300", null, muon);
    }
}
