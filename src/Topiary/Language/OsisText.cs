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
        var text = Notes().Replace(osis, "");
        // Tags sit inside words and before punctuation ("word</w>,"), so they go without a trace.
        text = Tags().Replace(text, "");
        text = WebUtility.HtmlDecode(text);
        return Spaces().Replace(text, " ").Trim();
    }

    [GeneratedRegex("<note\\b.*?</note>", RegexOptions.Singleline)]
    private static partial Regex Notes();

    [GeneratedRegex("<[^>]*>")]
    private static partial Regex Tags();

    [GeneratedRegex("\\s+")]
    private static partial Regex Spaces();
}
