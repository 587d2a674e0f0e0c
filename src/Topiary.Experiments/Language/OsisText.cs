using System.Net;
using System.Text.RegularExpressions;

namespace Topiary.Language;

/// <summary>
/// Turns one OSIS-marked-up verse into plain running text: footnotes and cross-references
/// (<c>&lt;note&gt;…&lt;/note&gt;</c>) are dropped with their content, since they are not part of the
/// read text; every other tag is removed, entities are decoded and whitespace is collapsed.
/// </summary>
public static partial class OsisText
{
    /// <summary>The verse as plain text, trimmed; empty when it held only markup.</summary>
    public static string ToPlain(string osis)
    {
        // The World English Bible writes a footnote between two words in place of the space
        // ("God</w><note>…</note><w>created"), so a note right before a word leaves a space.
        var text = NotesBeforeWords().Replace(osis, " ");
        text = Notes().Replace(text, "");
        // Tags sit inside words and before punctuation ("word</w>,"), so they go without a trace.
        text = Tags().Replace(text, "");
        text = WebUtility.HtmlDecode(text);
        return Spaces().Replace(text, " ").Trim();
    }

    [GeneratedRegex("<note\\b.*?</note>", RegexOptions.Singleline)]
    private static partial Regex Notes();

    [GeneratedRegex("<note\\b(?:(?!</note>).)*</note>(?=<w\\b|[\\p{L}\\p{N}])", RegexOptions.Singleline)]
    private static partial Regex NotesBeforeWords();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tags();

    [GeneratedRegex("\\s+")]
    private static partial Regex Spaces();
}
