namespace Topiary.Language;

/// <summary>
/// A verse-aligned parallel corpus from two SWORD zText Bible modules: verses are paired by their
/// <see cref="VerseKey"/> (book, chapter, verse), so translations with different versifications
/// (e.g. the KJV-versified Reina-Valera 1909 and the NRSVA-versified World English Bible, whose
/// index layouts differ by the deuterocanonical books) still align. Verses one side lacks, and pairs
/// where either side is empty after markup removal, are dropped.
/// </summary>
public sealed class ParallelCorpus
{
    /// <summary>Where <c>sword-text-sparv</c> installs the Reina-Valera 1909 (Spanish) module.</summary>
    public const string ReinaValeraDirectory = "/usr/share/sword/modules/texts/ztext/spaRV1909eb";

    /// <summary>The verse pairs, in the source module's canonical order.</summary>
    public IReadOnlyList<VersePair> Pairs { get; }

    /// <summary>Wraps pairs already aligned.</summary>
    public ParallelCorpus(IReadOnlyList<VersePair> pairs) => Pairs = pairs;

    /// <summary>Spanish (Reina-Valera 1909) → English (World English Bible), the installed default.</summary>
    public static ParallelCorpus SpanishEnglish() => Load(ReinaValeraDirectory, CorpusCatalog.WorldEnglishBibleDirectory);

    /// <summary>Pairs the verses of two zText module directories by key.</summary>
    /// <exception cref="CorpusFormatException">A module is missing or damaged, or the two share no non-empty verse.</exception>
    public static ParallelCorpus Load(string sourceModule, string targetModule)
    {
        var target = new Dictionary<VerseKey, string>();
        foreach (var (key, osis) in SwordVerseKeys.Read(targetModule)) target[key] = osis;
        var pairs = new List<VersePair>();
        foreach (var (key, osis) in SwordVerseKeys.Read(sourceModule))
        {
            if (!target.TryGetValue(key, out var targetOsis)) continue;
            var source = OsisText.ToPlain(osis);
            var translation = OsisText.ToPlain(targetOsis);
            if (source.Length > 0 && translation.Length > 0) pairs.Add(new VersePair(key, source, translation));
        }
        if (pairs.Count == 0) throw new CorpusFormatException(sourceModule, $"shares no non-empty verse with {targetModule}");
        return new ParallelCorpus(pairs);
    }

    /// <summary>
    /// A seed-drawn split of the pairs: <paramref name="validation"/> and <paramref name="test"/> pairs
    /// are drawn without replacement, the rest train; each split keeps canonical order.
    /// </summary>
    /// <exception cref="ArgumentException">The sizes are negative or leave no training pair.</exception>
    public ParallelSplit Split(int seed, int validation, int test)
    {
        if (validation < 0 || test < 0 || validation + test >= Pairs.Count)
            throw new ArgumentException($"validation {validation} + test {test} pairs must be non-negative and leave a training pair out of {Pairs.Count}");
        var order = Enumerable.Range(0, Pairs.Count).ToArray();
        new Random(seed).Shuffle(order);
        IReadOnlyList<VersePair> Take(IEnumerable<int> indices) => indices.Order().Select(i => Pairs[i]).ToList();
        return new ParallelSplit(Take(order.Skip(validation + test)), Take(order.Take(validation)), Take(order.Skip(validation).Take(test)));
    }
}
