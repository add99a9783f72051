namespace Segmenter.Dsl.Diagnostics;

/// <summary>What kind of problem a diagnostic reports: its ID, title and message template.</summary>
/// <param name="Id">The stable ID, <c>SEGDSLnnnn</c>.</param>
/// <param name="Title">A short title.</param>
/// <param name="MessageFormat">The message, with <c>{0}</c>… placeholders.</param>
/// <param name="Severity">Error or warning.</param>
/// <param name="Category">The compiler stage that reports it: Syntax, Binding or Validation.</param>
public sealed record DiagnosticDescriptor(string Id, string Title, string MessageFormat, SpecSeverity Severity, string Category);
