using Topiary.Models;

namespace Topiary.Tests.Language;

/// <summary>Small Transformer sizes that run in milliseconds.</summary>
internal static class TinyLanguageModels
{
    public static TransformerConfig Config(int vocabulary = 12, int context = 8) => new()
    {
        VocabularySize = vocabulary, ContextLength = context, ModelDim = 16, Heads = 2, Layers = 2, FeedForwardDim = 32,
    };

    public const string ShortText = "the cat sat on the mat. the dog sat on the log. ";

    /// <summary>About 16,000 characters of verse-like lines: enough for the three splits of a tiny CLI run.</summary>
    public static string VerseText => string.Concat(Enumerable.Range(0, 400).Select(i => $"verse {i % 37}: the lord spoke to moses.\n"));
}
