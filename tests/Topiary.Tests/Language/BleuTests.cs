using Topiary.Language;

namespace Topiary.Tests.Language;

public class BleuTests
{
    [Fact]
    public void Identical_translations_score_100()
    {
        var text = new[] { "EN el principio crió Dios los cielos y la tierra.", "Y lloró Jesús una vez más." };
        var bleu = Bleu.Corpus(text, text);
        Assert.Equal(100, bleu.Score, 9);
        Assert.Equal(1, bleu.BrevityPenalty);
    }

    [Fact]
    public void A_hand_computed_example_clips_repeated_words()
    {
        // "the" occurs twice in the hypothesis but once in the reference, so p1 = 5/6, not 6/6;
        // p2 = 3/5, p3 = 2/4, p4 = 1/3; equal lengths, BP = 1; BLEU = (1/12)^(1/4).
        var bleu = Bleu.Corpus(["the cat sat on the mat"], ["the cat sat on a mat"]);
        Assert.Equal(new[] { 5 / 6.0, 3 / 5.0, 2 / 4.0, 1 / 3.0 }, bleu.Precisions);
        Assert.Equal(100 * Math.Pow(1 / 12.0, 0.25), bleu.Score, 9);
    }

    [Fact]
    public void Counts_are_summed_over_the_corpus_before_the_precisions()
    {
        // p = 9/10, 6/8, 4/6, 2/4: not the mean of the two sentence scores (53.7 and 100).
        var bleu = Bleu.Corpus(["the cat sat on the mat", "a b c d"], ["the cat sat on a mat", "a b c d"]);
        Assert.Equal(100 * Math.Pow(0.9 * 0.75 * (4 / 6.0) * 0.5, 0.25), bleu.Score, 9);
    }

    [Fact]
    public void A_short_hypothesis_pays_the_brevity_penalty()
    {
        // Every n-gram of the 4-word hypothesis matches; r = 6, c = 4, BP = exp(1 − 6/4).
        var bleu = Bleu.Corpus(["the cat sat on"], ["the cat sat on a mat"]);
        Assert.All(bleu.Precisions, p => Assert.Equal(1, p));
        Assert.Equal(Math.Exp(-0.5), bleu.BrevityPenalty, 12);
        Assert.Equal(100 * Math.Exp(-0.5), bleu.Score, 9);
        // A longer hypothesis is not penalized for length.
        Assert.Equal(1, Bleu.Corpus(["the cat sat on a mat today"], ["the cat sat on a mat"]).BrevityPenalty);
    }

    [Fact]
    public void No_matching_four_gram_scores_zero()
    {
        var bleu = Bleu.Corpus(["the cat sat on the mat"], ["the cat is on the mat"]);
        Assert.Equal(0, bleu.Precisions[3]);
        Assert.True(bleu.Precisions[0] > 0);
        Assert.Equal(0, bleu.Score);
        Assert.Equal(0, Bleu.Corpus([""], ["something"]).Score);
    }

    [Fact]
    public void Punctuation_is_split_off_words_and_case_is_kept()
    {
        Assert.Equal(new[] { "Dios", ",", "los", "cielos", "." }, Bleu.Tokenize("Dios, los  cielos."));
        Assert.Throws<ArgumentException>(() => Bleu.Corpus(["a"], []));
    }
}
