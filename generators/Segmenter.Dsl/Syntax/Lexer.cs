using System.Collections.Generic;
using System.Globalization;
using System.Text;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>Turns a spec's text into tokens. Never throws: bad characters become <see cref="SyntaxKind.BadToken"/> and a diagnostic.</summary>
internal sealed class Lexer
{
    private readonly SourceText text;
    private readonly DiagnosticBag diagnostics;
    private int position;
    private string? pendingDocumentation;

    public Lexer(SourceText text, DiagnosticBag diagnostics)
    {
        this.text = text;
        this.diagnostics = diagnostics;
    }

    public List<SyntaxToken> Lex()
    {
        var tokens = new List<SyntaxToken>();
        while (true)
        {
            var token = Next();
            tokens.Add(token);
            if (token.Kind == SyntaxKind.EndOfFile) return tokens;
        }
    }

    private char Current => text[position];

    /// <summary>What a reader puts where a file's bytes are not UTF-8.</summary>
    private const char Replacement = '\uFFFD';

    /// <summary>One SEGDSL0009 for the run of replacement characters starting at the position (nothing inside a run).</summary>
    private void ReportNotUtf8()
    {
        if (position > 0 && text[position - 1] == Replacement) return;
        int end = position;
        while (end < text.Length && text[end] == Replacement) end++;
        diagnostics.Report(DiagnosticDescriptors.NotUtf8, text, TextSpan.FromBounds(position, end));
    }

    private char Peek(int offset) => text[position + offset];

    private SyntaxToken Next()
    {
        SkipTrivia();
        int start = position;
        var documentation = pendingDocumentation;
        pendingDocumentation = null;

        if (position >= text.Length)
            return new SyntaxToken(SyntaxKind.EndOfFile, new TextSpan(text.Length, 0), "", documentation: documentation);

        char c = Current;
        switch (c)
        {
            case '{': return Punctuation(SyntaxKind.OpenBrace, documentation);
            case '}': return Punctuation(SyntaxKind.CloseBrace, documentation);
            case '(': return Punctuation(SyntaxKind.OpenParen, documentation);
            case ')': return Punctuation(SyntaxKind.CloseParen, documentation);
            case '=': return Punctuation(SyntaxKind.Equals, documentation);
            case ',': return Punctuation(SyntaxKind.Comma, documentation);
            case ':': return Punctuation(SyntaxKind.Colon, documentation);
            case ';': return Punctuation(SyntaxKind.Semicolon, documentation);
            case '"': return LexString(documentation);
        }

        if (IsDigit(c) || ((c == '-' || c == '+') && IsDigit(Peek(1))) || (c == '.' && IsDigit(Peek(1))))
            return LexNumber(documentation);
        if (IsIdentifierStart(c))
            return LexIdentifier(documentation);

        // One bad token for a run of characters that cannot start anything, so a pasted blob gives one error.
        do position++;
        while (position < text.Length && !CanStartToken(Current));
        var span = TextSpan.FromBounds(start, position);
        if (text.ToString(span).IndexOf(Replacement) >= 0) diagnostics.Report(DiagnosticDescriptors.NotUtf8, text, span);
        else diagnostics.Report(DiagnosticDescriptors.UnexpectedCharacter, text, span, text.ToString(span));
        return new SyntaxToken(SyntaxKind.BadToken, span, text.ToString(span), documentation: documentation);
    }

    private SyntaxToken Punctuation(SyntaxKind kind, string? documentation)
    {
        var span = new TextSpan(position, 1);
        position++;
        return new SyntaxToken(kind, span, text.ToString(span), documentation: documentation);
    }

    private void SkipTrivia()
    {
        while (position < text.Length)
        {
            char c = Current;
            if (char.IsWhiteSpace(c))
            {
                position++;
            }
            else if (c == '/' && Peek(1) == '/')
            {
                bool isDocumentation = Peek(2) == '/' && Peek(3) != '/';
                int start = position + (isDocumentation ? 3 : 2);
                while (position < text.Length && !IsLineBreak(Current))
                {
                    CheckCommentCharacter();
                    position++;
                }
                if (isDocumentation)
                {
                    var line = text.ToString(TextSpan.FromBounds(start, position)).Trim();
                    pendingDocumentation = pendingDocumentation is null ? line : pendingDocumentation + "\n" + line;
                }
            }
            else if (c == '/' && Peek(1) == '*')
            {
                int start = position;
                position += 2;
                while (position < text.Length && !(Current == '*' && Peek(1) == '/'))
                {
                    CheckCommentCharacter();
                    position++;
                }
                if (position >= text.Length)
                {
                    diagnostics.Report(DiagnosticDescriptors.UnterminatedComment, text, new TextSpan(start, 2));
                    return;
                }
                position += 2;
            }
            else
            {
                return;
            }
        }
    }

    private SyntaxToken LexString(string? documentation)
    {
        int start = position;
        position++; // opening quote
        var value = new StringBuilder();
        while (true)
        {
            if (position >= text.Length || IsLineBreak(Current))
            {
                var span = TextSpan.FromBounds(start, position);
                diagnostics.Report(DiagnosticDescriptors.UnterminatedString, text, span);
                return new SyntaxToken(SyntaxKind.String, span, text.ToString(span), value.ToString(), documentation: documentation);
            }
            char c = Current;
            if (c == '"')
            {
                position++;
                break;
            }
            if (c == '\\' && (Peek(1) == '"' || Peek(1) == '\\'))
            {
                value.Append(Peek(1));
                position += 2;
                continue;
            }
            if (c == Replacement) ReportNotUtf8();
            else if (char.IsControl(c) || IsBidirectionalControl(c))
                diagnostics.Report(DiagnosticDescriptors.ControlCharacterInString, text, new TextSpan(position, 1), ((int)c).ToString("X4", CultureInfo.InvariantCulture));
            value.Append(c);
            position++;
        }
        var whole = TextSpan.FromBounds(start, position);
        return new SyntaxToken(SyntaxKind.String, whole, text.ToString(whole), value.ToString(), documentation: documentation);
    }

    private SyntaxToken LexNumber(string? documentation)
    {
        int start = position;
        if (Current == '-' || Current == '+') position++;
        bool isInteger = true;
        while (IsDigit(Current)) position++;
        if (Current == '.' && IsDigit(Peek(1)))
        {
            isInteger = false;
            position++;
            while (IsDigit(Current)) position++;
        }
        if ((Current == 'e' || Current == 'E') && (IsDigit(Peek(1)) || ((Peek(1) == '-' || Peek(1) == '+') && IsDigit(Peek(2)))))
        {
            isInteger = false;
            position += 2;
            while (IsDigit(Current)) position++;
        }

        // A size: an integer followed directly by 'x' (or '×') and another integer.
        if (isInteger && (Current == 'x' || Current == 'X' || Current == '×') && IsDigit(Peek(1)) && IsDigit(text[start]))
        {
            int heightEnd = position;
            position++;
            int widthStart = position;
            while (IsDigit(Current)) position++;
            if ((Current == 'x' || Current == 'X' || Current == '×') && IsDigit(Peek(1)))
            {
                // 32x32x32: one bad size, not a size followed by a name.
                while (IsDigit(Current) || Current == 'x' || Current == 'X' || Current == '×') position++;
                var badSpan = TextSpan.FromBounds(start, position);
                diagnostics.Report(DiagnosticDescriptors.InvalidNumber, text, badSpan, text.ToString(badSpan), "a size has two sides, height x width, such as 512x640");
                return new SyntaxToken(SyntaxKind.Size, badSpan, text.ToString(badSpan), null, documentation: documentation);
            }
            var sizeSpan = TextSpan.FromBounds(start, position);
            var sizeText = text.ToString(sizeSpan);
            bool ok = long.TryParse(text.ToString(TextSpan.FromBounds(start, heightEnd)), NumberStyles.None, CultureInfo.InvariantCulture, out var height)
                    & long.TryParse(text.ToString(TextSpan.FromBounds(widthStart, position)), NumberStyles.None, CultureInfo.InvariantCulture, out var width);
            if (!ok)
                diagnostics.Report(DiagnosticDescriptors.InvalidNumber, text, sizeSpan, sizeText, "the numbers are too large");
            // A token the lexer reported carries no value: the binder fails on it without a second error.
            return new SyntaxToken(SyntaxKind.Size, sizeSpan, sizeText, ok ? new SizeLiteral(height, width) : null, documentation: documentation);
        }

        var span = TextSpan.FromBounds(start, position);
        var numberText = text.ToString(span);

        // Letters glued to a number (12px, 1e) make one bad number, not a number and a name.
        if (IsIdentifierStart(Current))
        {
            while (IsIdentifierPart(Current)) position++;
            span = TextSpan.FromBounds(start, position);
            diagnostics.Report(DiagnosticDescriptors.InvalidNumber, text, span, text.ToString(span), "write the number alone, e.g. 512, 0.1, 1e-5 or 512x640");
            return new SyntaxToken(SyntaxKind.Number, span, text.ToString(span), null, documentation: documentation);
        }

        if (!double.TryParse(numberText, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || double.IsInfinity(value))
        {
            diagnostics.Report(DiagnosticDescriptors.InvalidNumber, text, span, numberText, "it is too large");
            return new SyntaxToken(SyntaxKind.Number, span, numberText, null, documentation: documentation);
        }
        return new SyntaxToken(SyntaxKind.Number, span, numberText, new NumberLiteral(value, isInteger), documentation: documentation);
    }

    private SyntaxToken LexIdentifier(string? documentation)
    {
        int start = position;
        position++;
        while (true)
        {
            if (IsIdentifierPart(Current)) position++;
            else if (Current == '-' && IsIdentifierPart(Peek(1)) && IsIdentifierPart(text[position - 1])) position++;
            else break;
        }
        var span = TextSpan.FromBounds(start, position);
        return new SyntaxToken(SyntaxKind.Identifier, span, text.ToString(span), documentation: documentation);
    }

    private static bool IsDigit(char c) => c >= '0' && c <= '9';

    /// <summary>The bidirectional embeddings, overrides and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what is shown.</summary>
    private static bool IsBidirectionalControl(char c) => c is >= '\u202a' and <= '\u202e' or >= '\u2066' and <= '\u2069';

    /// <summary>
    /// SEGDSL0009 or SEGDSL0011 for the comment character at the position: tabs and line breaks are a comment's own,
    /// other control characters and bidirectional controls are not (they make the file read otherwise than it is).
    /// </summary>
    private void CheckCommentCharacter()
    {
        char c = Current;
        if (c == Replacement) ReportNotUtf8();
        else if ((char.IsControl(c) && !char.IsWhiteSpace(c)) || IsBidirectionalControl(c))
            diagnostics.Report(DiagnosticDescriptors.ControlCharacterInComment, text, new TextSpan(position, 1), ((int)c).ToString("X4", CultureInfo.InvariantCulture));
    }

    /// <summary>Whether <paramref name="c"/> can begin a token or trivia (so a run of bad characters ends before it).</summary>
    private static bool CanStartToken(char c) =>
        char.IsWhiteSpace(c) || IsDigit(c) || IsIdentifierStart(c) || c is '{' or '}' or '(' or ')' or '=' or ',' or ':' or ';' or '"' or '/' or '-' or '+' or '.';

    private static bool IsIdentifierStart(char c) => c == '_' || char.IsLetter(c);

    private static bool IsIdentifierPart(char c) => c == '_' || char.IsLetterOrDigit(c);

    private static bool IsLineBreak(char c) => c == '\n' || c == '\r' || c == '\u2028' || c == '\u2029' || c == '\u0085';
}
