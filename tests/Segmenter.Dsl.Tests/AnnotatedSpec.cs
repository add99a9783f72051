using System.Collections.Generic;
using System.Text;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Tests;

/// <summary>A spec text with expected spans marked as [|…|]; the markers are removed.</summary>
internal sealed record AnnotatedSpec(string Text, IReadOnlyList<TextSpan> Spans)
{
    public static AnnotatedSpec Parse(string annotated)
    {
        var text = new StringBuilder();
        var spans = new List<TextSpan>();
        var starts = new Stack<int>();
        for (int i = 0; i < annotated.Length; i++)
        {
            if (annotated[i] == '[' && i + 1 < annotated.Length && annotated[i + 1] == '|')
            {
                starts.Push(text.Length);
                i++;
            }
            else if (annotated[i] == '|' && i + 1 < annotated.Length && annotated[i + 1] == ']')
            {
                spans.Add(TextSpan.FromBounds(starts.Pop(), text.Length));
                i++;
            }
            else
            {
                text.Append(annotated[i]);
            }
        }
        return new AnnotatedSpec(text.ToString(), spans);
    }
}
