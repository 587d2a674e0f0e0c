namespace Topiary.Language;

/// <summary>
/// A parallel corpus made ready for a translation model of a given context length: the pairs whose
/// source and target both fit in context − 1 characters (the end id takes the last place; longer
/// verses would be cut, and a model trained on cut targets learns to stop mid-sentence), optionally
/// only the first <c>subset</c> of them, split by the seed (<see cref="ParallelCorpus.Split"/>).
/// The vocabulary comes from every pair of the corpus, kept or not, so that all seeds and subsets
/// share it, unless a saved model brings its own.
/// </summary>
public sealed class TranslationData
{
    private TranslationData(string name, string source, ParallelSplit split, TranslationVocabulary vocabulary, int corpusPairs, int fittingPairs)
    {
        Name = name;
        Source = source;
        Split = split;
        Vocabulary = vocabulary;
        CorpusPairs = corpusPairs;
        FittingPairs = fittingPairs;
    }

    /// <summary>Short name for reports, e.g. <c>spaRV1909eb→engWEB2015eb</c>.</summary>
    public string Name { get; }
    /// <summary>Where the pairs were read from (both module directories).</summary>
    public string Source { get; }
    /// <summary>Training, validation and test pairs.</summary>
    public ParallelSplit Split { get; }
    /// <summary>The ids.</summary>
    public TranslationVocabulary Vocabulary { get; }
    /// <summary>Pairs in the corpus.</summary>
    public int CorpusPairs { get; }
    /// <summary>Pairs whose both sides fit the context.</summary>
    public int FittingPairs { get; }

    /// <summary>
    /// Filters and splits <paramref name="corpus"/>: <paramref name="validationPairs"/> and <paramref name="testPairs"/>
    /// are held out of the fitting pairs (or of their first <paramref name="subset"/>).
    /// </summary>
    /// <exception cref="ArgumentException">Too few pairs fit for the held-out sizes, or a size is out of range.</exception>
    public static TranslationData From(ParallelCorpus corpus, string name, string source, int seed, int contextLength,
        int validationPairs, int testPairs, int? subset = null, TranslationVocabulary? vocabulary = null)
    {
        if (contextLength < 2) throw new ArgumentException($"the context length must be at least 2, got {contextLength}", nameof(contextLength));
        if (subset is < 1) throw new ArgumentException($"the subset must be at least 1 pair, got {subset}", nameof(subset));
        var fitting = corpus.Pairs.Where(p => p.Source.Length < contextLength && p.Target.Length < contextLength).ToList();
        var kept = subset is { } n && n < fitting.Count ? fitting.Take(n).ToList() : fitting;
        if (validationPairs < 1 || testPairs < 1 || validationPairs + testPairs >= kept.Count)
            throw new ArgumentException($"{validationPairs} validation and {testPairs} test pairs (each at least 1) must leave training pairs out of the {kept.Count} "
                + $"pairs whose both sides fit in {contextLength - 1} characters", nameof(validationPairs));
        var split = new ParallelCorpus(kept).Split(seed, validationPairs, testPairs);
        return new TranslationData(name, source, split, vocabulary ?? TranslationVocabulary.FromPairs(corpus.Pairs), corpus.Pairs.Count, fitting.Count);
    }
}
