using Topiary.Language;

namespace Topiary.Tests.Language;

public class OsisTextTests
{
    [Theory]
    // A footnote standing between two words in place of the space (as in the World English Bible).
    [InlineData("<w>God</w><note placement=\"foot\">Elohim</note><w>created</w> it.", "God created it.")]
    [InlineData("God<note>x</note>created", "God created")]
    // A footnote before punctuation leaves nothing, and a later note does not swallow the text between.
    [InlineData("word<note>x</note>, more<note>y</note>. end", "word, more. end")]
    [InlineData("a<note>x</note>, kept text<note>y</note>b", "a, kept text b")]
    public void Footnotes_go_without_gluing_words_or_spacing_punctuation(string osis, string plain) =>
        Assert.Equal(plain, OsisText.ToPlain(osis));
}
