using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Diagnostics;

/// <summary>One located problem in a spec file. Value-equal, so it can flow through an incremental pipeline.</summary>
/// <param name="Descriptor">What kind of problem.</param>
/// <param name="Message">The formatted message, which says how to fix it.</param>
/// <param name="Path">The spec file's path.</param>
/// <param name="Span">The characters at fault.</param>
/// <param name="LineSpan">The same span as zero-based lines and characters.</param>
public sealed record SpecDiagnostic(DiagnosticDescriptor Descriptor, string Message, string Path, TextSpan Span, LinePositionSpan LineSpan)
{
    /// <summary>The diagnostic's ID.</summary>
    public string Id => Descriptor.Id;

    /// <summary>True for errors.</summary>
    public bool IsError => Descriptor.Severity == SpecSeverity.Error;

    /// <summary>The compiler's usual one-line form: <c>path(line,col): error ID: message</c>.</summary>
    public override string ToString() =>
        $"{Path}({LineSpan.Start.Line + 1},{LineSpan.Start.Character + 1}): {(IsError ? "error" : "warning")} {Id}: {Message}";
}
