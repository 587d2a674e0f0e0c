namespace Topiary.Language;

/// <summary>A plain-text corpus: its short name, where it was read from, and its text.</summary>
/// <param name="Name">Short name for reports (e.g. <c>web</c>).</param>
/// <param name="Source">The module directory or file it was read from.</param>
/// <param name="Text">The running text, one verse (or source line) per line.</param>
public sealed record TextCorpus(string Name, string Source, string Text);
