using Segmenter.Dsl.Text;
using Segmenter.Spec;

namespace Segmenter.Dsl.Diagnostics;

/// <summary>How serious a diagnostic is.</summary>
public enum SpecSeverity
{
    /// <summary>The spec cannot produce a model.</summary>
    Error,
    /// <summary>The spec works but is probably not what was meant.</summary>
    Warning,
}

/// <summary>What kind of problem a diagnostic reports: its ID, title and message template.</summary>
/// <param name="Id">The stable ID, <c>SEGDSLnnnn</c>.</param>
/// <param name="Title">A short title.</param>
/// <param name="MessageFormat">The message, with <c>{0}</c>… placeholders.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="Category">The compiler stage that reports it: Syntax, Binding or Validation.</param>
public sealed record DiagnosticDescriptor(string Id, string Title, string MessageFormat, SpecSeverity Severity, string Category);

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
