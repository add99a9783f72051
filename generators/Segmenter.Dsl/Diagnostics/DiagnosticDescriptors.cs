using System.Collections.Generic;

namespace Segmenter.Dsl.Diagnostics;

/// <summary>
/// Every diagnostic the spec compiler reports. IDs are stable: 00xx syntax, 01xx binding (names,
/// properties, values), 02xx validation (architecture rules). docs/diagnostics.md explains each.
/// </summary>
public static class DiagnosticDescriptors
{
    private const string Syntax = nameof(Syntax);
    private const string Binding = nameof(Binding);
    private const string Validation = nameof(Validation);

    /// <summary>A character that cannot start any token.</summary>
    public static readonly DiagnosticDescriptor UnexpectedCharacter = Error("SEGDSL0001", "Unexpected character",
        "Unexpected character '{0}': a spec holds names, numbers, strings, sizes like 512x640 and the punctuation {{ }} ( ) = , : ;", Syntax);

    /// <summary>A string literal without its closing quote.</summary>
    public static readonly DiagnosticDescriptor UnterminatedString = Error("SEGDSL0002", "Unterminated string",
        "Unterminated string: add the closing '\"' before the end of the line", Syntax);

    /// <summary>A block comment without its closing <c>*/</c>.</summary>
    public static readonly DiagnosticDescriptor UnterminatedComment = Error("SEGDSL0003", "Unterminated comment",
        "Unterminated block comment: close it with '*/'", Syntax);

    /// <summary>A malformed or out-of-range numeric literal.</summary>
    public static readonly DiagnosticDescriptor InvalidNumber = Error("SEGDSL0004", "Invalid number",
        "Invalid number '{0}': {1}", Syntax);

    /// <summary>A token other than the one the grammar needs here.</summary>
    public static readonly DiagnosticDescriptor ExpectedToken = Error("SEGDSL0005", "Unexpected token",
        "Expected {0} but found {1}", Syntax);

    /// <summary>Something other than a declaration at the top level.</summary>
    public static readonly DiagnosticDescriptor ExpectedDeclaration = Error("SEGDSL0006", "Expected a declaration",
        "Expected 'backbone' or 'model' to start a declaration but found {0}", Syntax);

    /// <summary>A property without a value.</summary>
    public static readonly DiagnosticDescriptor ExpectedValue = Error("SEGDSL0007", "Expected a value",
        "Expected a value (a number, a size such as 512x512, a name, a string, a call such as mask(layers = 2) or a tuple) but found {0}", Syntax);

    /// <summary>Tuples or calls nested deeper than the parser allows.</summary>
    public static readonly DiagnosticDescriptor NestingTooDeep = Error("SEGDSL0008", "Nesting too deep",
        "Values are nested more than {0} levels deep; flatten the tuple or call", Syntax);

    /// <summary>Bytes that are not UTF-8, read as U+FFFD (every reader of the file replaces them so).</summary>
    public static readonly DiagnosticDescriptor NotUtf8 = Error("SEGDSL0009", "Not UTF-8 text",
        "The file holds bytes that are not UTF-8 text here (read as '\uFFFD'); save the spec file as UTF-8", Syntax);

    /// <summary>A control or bidirectional-override character inside a string (class names reach terminals, logs and generated code).</summary>
    public static readonly DiagnosticDescriptor ControlCharacterInString = Error("SEGDSL0010", "Control character in a string",
        "The string holds the invisible character U+{0}; class names and other strings may hold printable text only: remove it", Syntax);

    /// <summary>A control character or bidirectional override in a comment (doc comments reach generated code).</summary>
    public static readonly DiagnosticDescriptor ControlCharacterInComment = Error("SEGDSL0011", "Control character in a comment",
        "The comment holds the invisible character U+{0}, which can make the file read otherwise than it is (and a /// comment is copied into generated code): remove it", Syntax);

    /// <summary>A property name the declaration kind does not have.</summary>
    public static readonly DiagnosticDescriptor UnknownProperty = Error("SEGDSL0101", "Unknown property",
        "'{0}' is not a property of a {1}{2}; known properties: {3}", Binding);

    /// <summary>The same property twice in one declaration.</summary>
    public static readonly DiagnosticDescriptor DuplicateProperty = Error("SEGDSL0102", "Duplicate property",
        "Property '{0}' is already set in this {1} (line {2}); remove one of them", Binding);

    /// <summary>A value of the wrong kind (a name where a number is needed, a fraction where an integer is needed…).</summary>
    public static readonly DiagnosticDescriptor WrongValueType = Error("SEGDSL0103", "Wrong type of value",
        "'{0}' expects {1} but found {2}", Binding);

    /// <summary>A number outside the allowed range.</summary>
    public static readonly DiagnosticDescriptor ValueOutOfRange = Error("SEGDSL0104", "Value out of range",
        "'{0}' must be {1} but is {2}", Binding);

    /// <summary>A backbone name that no file declares.</summary>
    public static readonly DiagnosticDescriptor UnknownBackbone = Error("SEGDSL0105", "Unknown backbone",
        "Unknown backbone '{0}'{1}; declare it with 'backbone {0} {{ layers = … width = … heads = … }}' in any spec file", Binding);

    /// <summary>A base model name that no file declares.</summary>
    public static readonly DiagnosticDescriptor UnknownBase = Error("SEGDSL0106", "Unknown base declaration",
        "Unknown {0} '{1}' to inherit from{2}", Binding);

    /// <summary>A decoder kind other than linear or mask.</summary>
    public static readonly DiagnosticDescriptor UnknownDecoder = Error("SEGDSL0107", "Unknown decoder",
        "Unknown decoder '{0}': use linear or mask(layers = …, heads = …, dropout = …, drop_path = …)", Binding);

    /// <summary>A dataset preset name that does not exist.</summary>
    public static readonly DiagnosticDescriptor UnknownPreset = Error("SEGDSL0108", "Unknown dataset preset",
        "Unknown dataset preset '{0}'{1}; use a class count, a tuple of class names, or one of: {2}", Binding);

    /// <summary>A name that is not one of the allowed choices of a property.</summary>
    public static readonly DiagnosticDescriptor UnknownChoice = Error("SEGDSL0109", "Unknown choice",
        "'{0}' cannot be '{1}'{2}; allowed: {3}", Binding);

    /// <summary>Declarations that inherit from one another in a loop.</summary>
    public static readonly DiagnosticDescriptor InheritanceCycle = Error("SEGDSL0110", "Inheritance cycle",
        "{0} '{1}' inherits from itself: {2}; break the cycle", Binding);

    /// <summary>Two declarations of the same kind with one name (in any of the spec files).</summary>
    public static readonly DiagnosticDescriptor DuplicateDeclaration = Error("SEGDSL0111", "Duplicate declaration",
        "{0} '{1}' is already declared at {2}; names are shared by all spec files, so rename one", Binding);

    /// <summary>A declaration name that cannot be a C# class name.</summary>
    public static readonly DiagnosticDescriptor InvalidName = Error("SEGDSL0112", "Invalid name",
        "'{0}' cannot name a generated class: {1}", Binding);

    /// <summary>A required property that neither the declaration nor its bases set.</summary>
    public static readonly DiagnosticDescriptor MissingProperty = Error("SEGDSL0113", "Missing required property",
        "{0} '{1}' does not set '{2}' (nor does any declaration it inherits from): add '{2} = {3}'", Binding);

    /// <summary>An argument name that the call does not take.</summary>
    public static readonly DiagnosticDescriptor UnknownArgument = Error("SEGDSL0114", "Unknown argument",
        "'{0}' does not take an argument '{1}'{2}; it takes: {3}", Binding);

    /// <summary>The same argument twice in one call.</summary>
    public static readonly DiagnosticDescriptor DuplicateArgument = Error("SEGDSL0115", "Duplicate argument",
        "Argument '{0}' is given twice; remove one", Binding);

    /// <summary>Inheriting from a declaration of the other kind.</summary>
    public static readonly DiagnosticDescriptor BaseKindMismatch = Error("SEGDSL0116", "Base of the wrong kind",
        "{0} '{1}' cannot inherit from {2} '{3}': a model inherits from a model, a backbone from a backbone", Binding);

    /// <summary>Positional arguments where names are needed.</summary>
    public static readonly DiagnosticDescriptor PositionalArgument = Error("SEGDSL0117", "Unnamed argument",
        "Arguments of '{0}' are named: write {1} = …", Binding);

    /// <summary>Encoder heads that do not divide the width.</summary>
    public static readonly DiagnosticDescriptor HeadsDoNotDivideWidth = Error("SEGDSL0201", "Heads do not divide the width",
        "{0}: {1} heads do not divide width {2}; choose heads among {3}", Validation);

    /// <summary>Mask-decoder heads that do not divide the decoder width.</summary>
    public static readonly DiagnosticDescriptor DecoderHeadsDoNotDivideWidth = Error("SEGDSL0202", "Decoder heads do not divide the decoder width",
        "The mask decoder's {0} heads{1} do not divide its width {2}; set mask(heads = …) to one of {3}", Validation);

    /// <summary>A training image size that is not a multiple of the patch size.</summary>
    public static readonly DiagnosticDescriptor ImageNotMultipleOfPatch = Error("SEGDSL0203", "Image size not a multiple of the patch",
        "Image size {0} is not a multiple of patch {1}; the position-embedding grid must be whole (try {2})", Validation);

    /// <summary>A mask decoder narrower than 64 with default heads (width ÷ 64 = 0).</summary>
    public static readonly DiagnosticDescriptor DecoderHasNoHeads = Error("SEGDSL0204", "Mask decoder without heads",
        "The mask decoder's width {0} gives 0 heads by the reference rule (width ÷ 64, rounded down); set mask(heads = …)", Validation);

    /// <summary>An MLP ratio that does not give a whole hidden width.</summary>
    public static readonly DiagnosticDescriptor MlpWidthNotWhole = Error("SEGDSL0205", "MLP width not whole",
        "{0}: width {1} × mlp_ratio {2} = {3} is not a whole number of units", Validation);

    /// <summary>A tuple of class names that repeats a name.</summary>
    public static readonly DiagnosticDescriptor DuplicateClassName = Error("SEGDSL0206", "Duplicate class name",
        "Class name \"{0}\" appears more than once; class names must be distinct", Validation);

    /// <summary>Every descriptor, in ID order.</summary>
    public static IReadOnlyList<DiagnosticDescriptor> All { get; } = new[]
    {
        UnexpectedCharacter, UnterminatedString, UnterminatedComment, InvalidNumber, ExpectedToken, ExpectedDeclaration, ExpectedValue,
        NestingTooDeep, NotUtf8, ControlCharacterInString, ControlCharacterInComment,
        UnknownProperty, DuplicateProperty, WrongValueType, ValueOutOfRange, UnknownBackbone, UnknownBase, UnknownDecoder, UnknownPreset,
        UnknownChoice, InheritanceCycle, DuplicateDeclaration, InvalidName, MissingProperty, UnknownArgument, DuplicateArgument,
        BaseKindMismatch, PositionalArgument,
        HeadsDoNotDivideWidth, DecoderHeadsDoNotDivideWidth, ImageNotMultipleOfPatch, DecoderHasNoHeads, MlpWidthNotWhole, DuplicateClassName,
    };

    private static DiagnosticDescriptor Error(string id, string title, string format, string category) =>
        new(id, title, format, SpecSeverity.Error, category);
}
