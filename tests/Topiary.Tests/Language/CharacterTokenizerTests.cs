using Topiary.Language;

namespace Topiary.Tests.Language;

public class CharacterTokenizerTests
{
    [Fact]
    public void Text_of_known_characters_decodes_back_to_itself()
    {
        const string text = "In the beginning, God created the heavens and the earth.\n“Let there be light!” — Genesis 1:3";
        var tokenizer = CharacterTokenizer.FromText(text);
        var ids = tokenizer.Encode(text);
        Assert.Equal(text.Length, ids.Length);
        Assert.DoesNotContain(0L, ids);
        Assert.Equal(text, tokenizer.Decode(ids));
        // Rebuilt from its vocabulary string (as a model file does), it gives the same ids.
        Assert.Equal(ids, new CharacterTokenizer(tokenizer.Vocabulary).Encode(text));
    }

    [Fact]
    public void Unknown_characters_become_id_zero_and_decode_as_the_replacement_character()
    {
        var tokenizer = CharacterTokenizer.FromText("abc");
        Assert.Equal(new long[] { 1, 0, 3 }, tokenizer.Encode("azc"));
        Assert.Equal("a\uFFFDc", tokenizer.Decode(tokenizer.Encode("azc")));
        Assert.Throws<ArgumentOutOfRangeException>(() => tokenizer.Decode(new long[] { 4 }));
        Assert.Throws<ArgumentException>(() => new CharacterTokenizer("abc"));
    }
}
