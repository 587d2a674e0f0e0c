using Topiary.Language;

namespace Topiary.Tests.Language;

public class TranslationDataTests
{
    // Sources of 10 or 11 characters, and targets of 10, do not fit a context of 10; only long-source pairs have an 'ñ'.
    private static ParallelCorpus Corpus(int count) => new(Enumerable.Range(0, count)
        .Select(i => new VersePair(new VerseKey("Gen", 1, i + 1), new string('a', i % 12), "x" + new string('b', i % 10) + (i % 12 >= 10 ? "ñ" : ""))).ToList());

    [Fact]
    public void Only_pairs_whose_both_sides_fit_before_the_end_id_are_kept_and_split_without_overlap()
    {
        var corpus = Corpus(120);
        var data = TranslationData.From(corpus, "t", "s", seed: 3, contextLength: 10, validationPairs: 5, testPairs: 7);

        var fitting = corpus.Pairs.Where(p => p.Source.Length <= 9 && p.Target.Length <= 9).ToList();
        Assert.Contains(corpus.Pairs, p => p.Source.Length <= 9 && p.Target.Length == 10);
        Assert.Equal(fitting.Count, data.FittingPairs);
        Assert.Equal(120, data.CorpusPairs);
        Assert.Equal((5, 7, fitting.Count - 12), (data.Split.Validation.Count, data.Split.Test.Count, data.Split.Train.Count));
        var all = data.Split.Train.Concat(data.Split.Validation).Concat(data.Split.Test).Select(p => p.Key).ToList();
        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(fitting.Select(p => p.Key.Verse).Order(), all.Select(k => k.Verse).Order());
        // The vocabulary covers the dropped pairs too: 'ñ' occurs only in them.
        Assert.DoesNotContain(fitting, p => p.Target.Contains('ñ'));
        Assert.Contains('ñ', data.Vocabulary.Characters.Vocabulary);
    }

    [Fact]
    public void The_same_seed_gives_the_same_split_and_a_subset_takes_the_first_fitting_pairs()
    {
        var corpus = Corpus(120);
        var a = TranslationData.From(corpus, "t", "s", 5, 10, 4, 4, subset: 30);
        var b = TranslationData.From(corpus, "t", "s", 5, 10, 4, 4, subset: 30);
        var c = TranslationData.From(corpus, "t", "s", 6, 10, 4, 4, subset: 30);
        Assert.Equal(a.Split.Test.Select(p => p.Key), b.Split.Test.Select(p => p.Key));
        Assert.NotEqual(a.Split.Test.Select(p => p.Key), c.Split.Test.Select(p => p.Key));
        var firstThirty = corpus.Pairs.Where(p => p.Source.Length <= 9 && p.Target.Length <= 9).Take(30).Select(p => p.Key).ToHashSet();
        Assert.True(a.Split.Train.Concat(a.Split.Validation).Concat(a.Split.Test).All(p => firstThirty.Contains(p.Key)));
    }

    [Theory]
    [InlineData(0, 5, null)]
    [InlineData(5, 0, null)]
    [InlineData(50, 50, null)]
    [InlineData(5, 5, 10)]
    [InlineData(5, 5, 0)]
    public void Held_out_sizes_that_leave_no_training_pair_are_refused(int validation, int test, int? subset)
    {
        Assert.Throws<ArgumentException>(() => TranslationData.From(Corpus(120), "t", "s", 1, 10, validation, test, subset));
    }
}
