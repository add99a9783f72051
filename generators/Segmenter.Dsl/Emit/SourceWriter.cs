using System;
using System.Text;

namespace Segmenter.Dsl.Emit;

/// <summary>Writes indented source with '\n' line ends, so output is the same on every OS.</summary>
internal sealed class SourceWriter
{
    private readonly StringBuilder builder = new();
    private int indent;

    public SourceWriter Line(string text = "")
    {
        if (text.Length > 0) builder.Append(' ', indent * 4).Append(text);
        builder.Append('\n');
        return this;
    }

    /// <summary>Writes <paramref name="code"/> followed by <c>// comment</c>, aligned at a fixed column so comments form one column.</summary>
    public SourceWriter Line(string code, string comment)
    {
        const int CommentColumn = 92;
        int width = indent * 4 + code.Length;
        return Line(code + new string(' ', System.Math.Max(1, CommentColumn - width)) + "// " + comment);
    }

    /// <summary>Writes each line of <paramref name="text"/> at the current indentation.</summary>
    public SourceWriter Lines(string text)
    {
        foreach (var line in text.Split('\n')) Line(line.TrimEnd('\r'));
        return this;
    }

    /// <summary>Writes "{" and indents until the returned scope is disposed (which writes "}" + <paramref name="after"/>).</summary>
    public IDisposable Block(string? header = null, string after = "")
    {
        if (header is not null) Line(header);
        Line("{");
        indent++;
        return new Closer(this, "}" + after);
    }

    /// <summary>Writes <paramref name="header"/> and indents until the returned scope is disposed, without braces (Python blocks).</summary>
    public IDisposable Indented(string header)
    {
        Line(header);
        indent++;
        return new Closer(this, null);
    }

    public override string ToString() => builder.ToString();

    private sealed class Closer : IDisposable
    {
        private readonly SourceWriter writer;
        private readonly string? closing;

        public Closer(SourceWriter writer, string? closing)
        {
            this.writer = writer;
            this.closing = closing;
        }

        public void Dispose()
        {
            writer.indent--;
            if (closing is not null) writer.Line(closing);
        }
    }
}
