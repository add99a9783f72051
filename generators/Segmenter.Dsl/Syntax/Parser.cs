using System.Collections.Generic;
using Segmenter.Dsl.Diagnostics;
using Segmenter.Dsl.Text;

namespace Segmenter.Dsl.Syntax;

/// <summary>
/// Recursive-descent parser for spec files. It never throws: a missing token is reported and
/// inserted (zero width), unexpected tokens are reported and skipped, and parsing goes on, so one
/// typo gives one error and the rest of the file is still checked.
/// </summary>
/// <remarks>
/// <code>
/// file        = declaration* EOF
/// declaration = ("backbone" | "model") NAME [":" NAME] "{" (property [","|";"])* "}"
/// property    = NAME "=" value
/// value       = NUMBER | SIZE | STRING | NAME [arguments] | "(" [value ("," value)*] ")"
/// arguments   = "(" [argument ("," argument)*] ")"
/// argument    = [NAME "="] value
/// </code>
/// </remarks>
public sealed class Parser
{
    /// <summary>The deepest nesting of tuples and calls accepted (deeper input is reported, not recursed into).</summary>
    public const int MaxNesting = 32;

    private readonly SourceText text;
    private readonly DiagnosticBag diagnostics;
    private readonly List<SyntaxToken> tokens;
    private int position;
    private int nesting;

    private Parser(SourceText text, DiagnosticBag diagnostics)
    {
        this.text = text;
        this.diagnostics = diagnostics;
        tokens = new Lexer(text, diagnostics).Lex();
    }

    /// <summary>Parses a whole file, reporting problems to <paramref name="diagnostics"/>.</summary>
    public static SpecFileSyntax Parse(SourceText text, DiagnosticBag diagnostics) => new Parser(text, diagnostics).ParseFile();

    private SyntaxToken Current => Peek(0);

    private SyntaxToken Peek(int offset)
    {
        int index = position + offset;
        return index < tokens.Count ? tokens[index] : tokens[tokens.Count - 1];
    }

    private SyntaxToken Advance()
    {
        var token = Current;
        if (position < tokens.Count - 1) position++;
        return token;
    }

    private SyntaxToken Match(SyntaxKind kind, string expected)
    {
        if (Current.Kind == kind) return Advance();
        diagnostics.Report(DiagnosticDescriptors.ExpectedToken, text, ErrorSpan(), expected, Current.Describe());
        return new SyntaxToken(kind, new TextSpan(MissingPosition(), 0), "", isMissing: true);
    }

    /// <summary>Where to point when something is missing: the offending token, or just after the previous one at the end of the file.</summary>
    private TextSpan ErrorSpan() => Current.Kind == SyntaxKind.EndOfFile ? new TextSpan(MissingPosition(), 0) : Current.Span;

    private int MissingPosition() => position > 0 && Current.Kind == SyntaxKind.EndOfFile ? Peek(-1).Span.End : Current.Span.Start;

    private bool AtDeclarationStart() =>
        Current.Kind == SyntaxKind.Identifier && IsDeclarationKeyword(Current.Text) && Peek(1).Kind == SyntaxKind.Identifier;

    private static bool IsDeclarationKeyword(string word) => word == "model" || word == "backbone";

    private SpecFileSyntax ParseFile()
    {
        var declarations = new List<DeclarationSyntax>();
        while (Current.Kind != SyntaxKind.EndOfFile)
        {
            if (Current.Kind == SyntaxKind.Identifier && IsDeclarationKeyword(Current.Text))
            {
                declarations.Add(ParseDeclaration());
                continue;
            }
            if (Current.Kind == SyntaxKind.BadToken)
            {
                Advance();   // the lexer has reported it
                continue;
            }

            diagnostics.Report(DiagnosticDescriptors.ExpectedDeclaration, text, Current.Span, Current.Describe());
            Advance();
            while (Current.Kind != SyntaxKind.EndOfFile && !(Current.Kind == SyntaxKind.Identifier && IsDeclarationKeyword(Current.Text)))
                Advance();
        }
        return new SpecFileSyntax(text, declarations, Current);
    }

    /// <summary>How many tokens before a '{' on the current token's line, if one is there within a few tokens.</summary>
    private int? OpenBraceLaterOnTheLine()
    {
        int line = text.GetLinePositionSpan(Current.Span).Start.Line;
        for (int offset = 0; offset < 16 && position + offset < tokens.Count; offset++)
        {
            var token = Peek(offset);
            if (token.Kind == SyntaxKind.EndOfFile || text.GetLinePositionSpan(token.Span).Start.Line != line) return null;
            if (token.Kind == SyntaxKind.OpenBrace) return offset;
            if (token.Kind is SyntaxKind.CloseBrace or SyntaxKind.Equals) return null;   // a body without its '{': parse it as one
        }
        return null;
    }

    private DeclarationSyntax ParseDeclaration()
    {
        var keyword = Advance();
        var kind = keyword.Text == "model" ? DeclarationKind.Model : DeclarationKind.Backbone;
        var name = Match(SyntaxKind.Identifier, $"a {keyword.Text} name");

        SyntaxToken? colon = null, baseName = null;
        if (Current.Kind == SyntaxKind.Colon)
        {
            colon = Advance();
            baseName = Match(SyntaxKind.Identifier, $"the name of the {keyword.Text} to inherit from");
        }

        if (Current.Kind != SyntaxKind.OpenBrace && OpenBraceLaterOnTheLine() is int skipped)
        {
            // Something between the name and its '{' (a name such as Seg.T16): one error, and the body is still read.
            if (Current.Kind != SyntaxKind.BadToken) diagnostics.Report(DiagnosticDescriptors.ExpectedToken, text, Current.Span, "'{'", Current.Describe());
            for (int i = 0; i < skipped; i++) Advance();
        }
        var openBrace = Match(SyntaxKind.OpenBrace, "'{'");
        var properties = new List<PropertySyntax>();
        while (Current.Kind != SyntaxKind.CloseBrace && Current.Kind != SyntaxKind.EndOfFile && !AtDeclarationStart())
        {
            if (Current.Kind == SyntaxKind.Comma || Current.Kind == SyntaxKind.Semicolon)
            {
                Advance();
                continue;
            }
            if (Current.Kind == SyntaxKind.BadToken)
            {
                Advance();   // the lexer has reported it
                continue;
            }
            if (Current.Kind != SyntaxKind.Identifier)
            {
                diagnostics.Report(DiagnosticDescriptors.ExpectedToken, text, Current.Span, "a property name or '}'", Current.Describe());
                Advance();
                continue;
            }
            properties.Add(ParseProperty());
        }

        var closeBrace = Match(SyntaxKind.CloseBrace, "'}'");
        return new DeclarationSyntax(kind, keyword, name, colon, baseName, openBrace, properties, closeBrace);
    }

    private PropertySyntax ParseProperty()
    {
        var name = Advance();
        var equalsToken = Match(SyntaxKind.Equals, $"'=' after '{name.Text}'");
        var value = ParseValue();
        return new PropertySyntax(name, equalsToken, value);
    }

    private ValueSyntax ParseValue()
    {
        switch (Current.Kind)
        {
            case SyntaxKind.Number:
                return new NumberValueSyntax(Advance());
            case SyntaxKind.Size:
                return new SizeValueSyntax(Advance());
            case SyntaxKind.String:
                return new StringValueSyntax(Advance());
            case SyntaxKind.Identifier:
            {
                var name = Advance();
                var arguments = Current.Kind == SyntaxKind.OpenParen ? ParseNested(ParseArgumentList) : null;
                return new NameValueSyntax(name, arguments);
            }
            case SyntaxKind.OpenParen:
                return (ValueSyntax?)ParseNested(ParseTuple) ?? new MissingValueSyntax(new TextSpan(Current.Span.Start, 0));
            default:
                diagnostics.Report(DiagnosticDescriptors.ExpectedValue, text, ErrorSpan(), Current.Describe());
                return new MissingValueSyntax(new TextSpan(MissingPosition(), 0));
        }
    }

    /// <summary>Parses a parenthesised construct unless it is nested too deeply, in which case it is reported and skipped.</summary>
    private T? ParseNested<T>(System.Func<T> parse) where T : SyntaxNode
    {
        if (nesting >= MaxNesting)
        {
            diagnostics.Report(DiagnosticDescriptors.NestingTooDeep, text, Current.Span, MaxNesting);
            SkipBalancedParentheses();
            return null;
        }
        nesting++;
        try
        {
            return parse();
        }
        finally
        {
            nesting--;
        }
    }

    private void SkipBalancedParentheses()
    {
        int depth = 0;
        do
        {
            if (Current.Kind == SyntaxKind.OpenParen) depth++;
            else if (Current.Kind == SyntaxKind.CloseParen) depth--;
            Advance();
        }
        while (depth > 0 && Current.Kind != SyntaxKind.EndOfFile && Current.Kind != SyntaxKind.CloseBrace);
    }

    private ArgumentListSyntax ParseArgumentList()
    {
        var open = Advance();
        var arguments = new List<ArgumentSyntax>();
        ParseCommaSeparated(() =>
        {
            if (Current.Kind == SyntaxKind.Identifier && Peek(1).Kind == SyntaxKind.Equals)
            {
                var name = Advance();
                var equalsToken = Advance();
                arguments.Add(new ArgumentSyntax(name, equalsToken, ParseValue()));
            }
            else
            {
                arguments.Add(new ArgumentSyntax(null, null, ParseValue()));
            }
        });
        var close = Match(SyntaxKind.CloseParen, "')'");
        return new ArgumentListSyntax(open, arguments, close);
    }

    private TupleValueSyntax ParseTuple()
    {
        var open = Advance();
        var elements = new List<ValueSyntax>();
        ParseCommaSeparated(() => elements.Add(ParseValue()));
        var close = Match(SyntaxKind.CloseParen, "')'");
        return new TupleValueSyntax(open, elements, close);
    }

    /// <summary>Parses <c>item ("," item)*</c> up to ')' — stopping, for recovery, at '}', a declaration or the end.</summary>
    private void ParseCommaSeparated(System.Action parseItem)
    {
        if (Current.Kind == SyntaxKind.CloseParen) return;
        while (true)
        {
            int before = position;
            parseItem();
            if (Current.Kind == SyntaxKind.Comma)
            {
                Advance();
                continue;
            }
            if (Current.Kind == SyntaxKind.CloseParen || Current.Kind == SyntaxKind.CloseBrace || Current.Kind == SyntaxKind.EndOfFile || AtDeclarationStart())
                return;
            if (CanStartValue(Current.Kind))
            {
                // "(1 2)": report the missing comma and keep the element.
                diagnostics.Report(DiagnosticDescriptors.ExpectedToken, text, Current.Span, "',' or ')'", Current.Describe());
                continue;
            }
            if (position == before || !CanStartValue(Current.Kind))
                return;
        }
    }

    private static bool CanStartValue(SyntaxKind kind) =>
        kind == SyntaxKind.Number || kind == SyntaxKind.Size || kind == SyntaxKind.String || kind == SyntaxKind.Identifier || kind == SyntaxKind.OpenParen;
}
