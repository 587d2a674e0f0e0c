namespace Topiary.Language;

/// <summary>One verse in two translations, as plain text.</summary>
/// <param name="Key">The verse both sides number alike.</param>
/// <param name="Source">The source-language text (the translation input).</param>
/// <param name="Target">The target-language text (the reference translation).</param>
public sealed record VersePair(VerseKey Key, string Source, string Target);
