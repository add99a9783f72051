using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>What a hostile file puts in a message reaches the terminal escaped and of readable length.</summary>
public sealed class TerminalTextTests
{
    [Fact]
    public void Control_and_bidirectional_characters_are_escaped_and_line_breaks_kept()
    {
        Assert.Equal("plain text\twith a tab", TerminalText.Safe("plain text\twith a tab"));
        Assert.Equal("key '\\u001b[31mred\\u0007' of\nthe file \\u202eevil", TerminalText.Safe("key '\u001b[31mred\u0007' of\nthe file \u202eevil"));
        Assert.Equal("one\\u000atwo", TerminalText.Escaped("one\ntwo"));
    }

    [Fact]
    public void A_line_too_long_to_read_is_shortened_with_a_count_and_the_next_line_kept()
    {
        var key = new string('k', 10_000_000);
        var safe = TerminalText.Safe($"tensor '{key}' is unexpected\nsecond line");
        var lines = safe.Split('\n');
        Assert.Equal(2, lines.Length);
        Assert.StartsWith("tensor 'kkk", lines[0]);
        Assert.EndsWith($"… ({10_000_000 + 23 - 1000} more characters left out)", lines[0]);
        Assert.True(lines[0].Length < 1100);
        Assert.Equal("second line", lines[1]);
    }

    [Fact]
    public void Errors_reach_the_error_stream_made_safe()
    {
        var error = new System.IO.StringWriter();
        new CliConsole(System.IO.TextWriter.Null, error).Error("bad\u001b]0;title\u0007");
        Assert.Equal("error: bad\\u001b]0;title\\u0007" + System.Environment.NewLine, error.ToString());
    }
}
