using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Segmenter.Dsl;
using Segmenter.Spec;
using Segmenter.Dsl.Binding;
using Segmenter.Dsl.Text;
using YamlDotNet.RepresentationModel;

namespace Segmenter.Tooling;

/// <summary>
/// The reference implementation's model description, <c>variant.yml</c> (its <c>net_kwargs</c>),
/// translated into spec text. The reference's training script writes it beside each checkpoint.
/// </summary>
public sealed class ReferenceVariant
{
    private readonly YamlMappingNode net;
    private readonly YamlMappingNode? dataset;

    /// <summary>The keys the reference's <c>create_segmenter</c> reads from net_kwargs.</summary>
    private static readonly string[] NetKeys =
        { "backbone", "d_ff", "d_model", "decoder", "distilled", "drop_path_rate", "dropout", "image_size", "n_cls", "n_heads", "n_layers", "normalization", "patch_size" };

    /// <summary>The keys its <c>create_decoder</c> reads from net_kwargs.decoder.</summary>
    private static readonly string[] DecoderKeys = { "drop_path_rate", "dropout", "n_cls", "n_layers", "name" };

    private ReferenceVariant(string path, YamlMappingNode net, YamlMappingNode? dataset)
    {
        FilePath = path;
        this.net = net;
        this.dataset = dataset;
        CheckKeys(net, "net_kwargs", NetKeys);
        if (Value(net, "decoder") is YamlMappingNode decoder)
            CheckKeys(decoder, "net_kwargs.decoder", DecoderKeys);
    }

    /// <summary>The variant.yml file.</summary>
    public string FilePath { get; }

    /// <summary>The reference's checkpoint beside the file (checkpoint.pth), if it exists.</summary>
    public string? Checkpoint => File.Exists(Combine("checkpoint.pth")) ? Combine("checkpoint.pth") : null;

    /// <summary>True if <paramref name="reference"/> is a variant.yml file or a folder holding one.</summary>
    public static bool IsVariant(string reference) =>
        reference.EndsWith(".yml", StringComparison.OrdinalIgnoreCase) || reference.EndsWith(".yaml", StringComparison.OrdinalIgnoreCase)
        || (Directory.Exists(reference) && File.Exists(Path.Combine(reference, "variant.yml")));

    /// <summary>Reads a variant.yml (or the variant.yml in a folder); errors name the file and the missing field.</summary>
    public static ReferenceVariant Read(string reference)
    {
        var path = Directory.Exists(reference) ? Path.Combine(reference, "variant.yml") : reference;
        if (!File.Exists(path)) throw new FileNotFoundException($"variant file '{path}' does not exist", path);
        CheckShape(path);
        var stream = new YamlStream();
        try
        {
            using var reader = new StreamReader(path);
            stream.Load(reader);
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or ArgumentException or InvalidOperationException or FormatException or OverflowException)
        {   // YamlDotNet reports some malformed input (a tag that is not a URI, an unexpected event) as argument errors
            throw new InvalidDataException($"{path}: not valid YAML ({e.Message})", e);
        }
        if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode root
            || !root.Children.TryGetValue(new YamlScalarNode("net_kwargs"), out var netNode) || netNode is not YamlMappingNode net)
            throw new InvalidDataException($"{path}: not a reference variant file: it has no 'net_kwargs' mapping");
        root.Children.TryGetValue(new YamlScalarNode("dataset_kwargs"), out var datasetNode);
        return new ReferenceVariant(path, net, datasetNode as YamlMappingNode);
    }

    /// <summary>The largest variant.yml read (the reference writes a few hundred bytes).</summary>
    private const long MaximumBytes = 1 << 20;

    /// <summary>The deepest bracket nesting read ([ and {); the reference writes 2 levels.</summary>
    private const int MaximumNesting = 64;

    /// <summary>
    /// Refuses files no reference variant looks like before the YAML parser sees them: a parser recursing through
    /// thousands of nested brackets would overflow the stack, which no handler can catch. (Block nesting is bounded by
    /// the size limit: each level costs at least one more column on every line below it.)
    /// </summary>
    private static void CheckShape(string path)
    {
        var length = new FileInfo(path).Length;
        if (length > MaximumBytes)
            throw new InvalidDataException($"{path}: {length} bytes is not a reference variant.yml (at most {MaximumBytes} bytes are read)");
        int depth = 0, line = 1;
        foreach (var c in File.ReadAllText(path))
        {
            if (c == '\n') line++;
            else if (c is '[' or '{')
            {
                if (++depth > MaximumNesting)
                    throw new InvalidDataException($"{path}({line}): brackets nested more than {MaximumNesting} deep; a reference variant.yml nests 2");
            }
            else if (c is ']' or '}') depth = System.Math.Max(0, depth - 1);
        }
    }

    /// <summary>A model name for this variant: the folder's name in PascalCase (micro-linear → MicroLinear).</summary>
    public string DefaultModelName()
    {
        var folder = new DirectoryInfo(Path.GetDirectoryName(Path.GetFullPath(FilePath))!).Name;
        var name = CSharpNames.PascalCase(folder);
        return name.Length == 0 || CSharpNames.Problem(name) is not null ? "ReferenceModel" : name;
    }

    /// <summary>The equivalent .seg text: a backbone and a model declaration.</summary>
    public string ToSpecText(string? modelName = null)
    {
        modelName ??= DefaultModelName();
        int width = Int("d_model"), layers = Int("n_layers"), heads = Int("n_heads"), patch = Int("patch_size");
        int classes = Int("n_cls");
        bool distilled = Bool("distilled", false);
        var (height, imageWidth) = Size("image_size");
        string backboneName = CSharpNames.PascalCase(Text("backbone", "vit")) + "Backbone";
        if (CSharpNames.Problem(backboneName) is not null) backboneName = "ReferenceBackbone";

        double? mlpRatio = Int(net, "d_ff", "net_kwargs") is { } ff && ff != 4 * width ? (double)ff / width : null;
        var properties = new List<(string, string)>
        {
            ("backbone", backboneName),
            ("patch", patch.ToString(CultureInfo.InvariantCulture)),
            ("image", SpecPrinter.Size(height, imageWidth)),
            ("classes", DatasetPreset(classes) ?? classes.ToString(CultureInfo.InvariantCulture)),
            ("decoder", Decoder()),
            ("drop_path", SpecPrinter.Number(Double(net, "drop_path_rate", "net_kwargs", 0.1))),
            ("dropout", SpecPrinter.Number(Double(net, "dropout", "net_kwargs", 0.0))),
            ("normalize", Normalization()),
        };
        return $"// Translated from the reference's {Path.GetFileName(FilePath)} (net_kwargs).\n"
               + SpecPrinter.Backbone(backboneName, layers, width, heads, mlpRatio, distilled) + "\n"
               + SpecPrinter.Model(modelName, properties);
    }

    /// <summary>Compiles the translated spec (with the built-in zoo available).</summary>
    public CompiledModel Compile(string? modelName = null)
    {
        // Diagnostics point into the translated text (what 'segmenter import' prints), not into the YAML.
        var translated = ToSpecText(modelName);
        var compilation = SpecCompiler.Compile(new[] { SourceText.From(translated, FilePath + ".seg") }, ModelResolver.ZooSpecs);
        return compilation.Models.SingleOrDefault()
               ?? throw new SpecCompilationException($"{FilePath}: its net_kwargs do not describe a valid model; translated (the positions below refer to this text, " +
                                                     $"which 'segmenter import {FilePath}' prints):\n{translated}", compilation.Diagnostics);
    }

    private string Decoder()
    {
        if (!net.Children.TryGetValue(new YamlScalarNode("decoder"), out var node) || node is not YamlMappingNode decoder)
            throw Error(node ?? net, "net_kwargs has no 'decoder' mapping");
        var name = Scalar(decoder, "name", "net_kwargs.decoder") ?? throw Error(decoder, "net_kwargs.decoder has no 'name'");
        _ = Scalar(decoder, "n_cls", "net_kwargs.decoder");   // read for its form only: the reference replaces it with net_kwargs.n_cls
        if (name == "linear") return DecoderNames.Linear;   // the reference's name happens to be the spec language's
        if (name != "mask_transformer")
            throw Error(Value(decoder, "name"), $"decoder '{name}' is not one of the reference's decoders (linear, mask_transformer)");
        int layers = Int(decoder, "n_layers", "net_kwargs.decoder", 2);
        double dropout = Double(decoder, "dropout", "net_kwargs.decoder", 0.1);
        double dropPath = Double(decoder, "drop_path_rate", "net_kwargs.decoder", 0.0);
        return $"mask(layers = {layers.ToString(CultureInfo.InvariantCulture)}, dropout = {SpecPrinter.Number(dropout)}, drop_path = {SpecPrinter.Number(dropPath)})";
    }

    /// <summary>The reference's normalisation names: vit (mean = std = 0.5) and deit (ImageNet statistics); anything else is an error.</summary>
    private string Normalization()
    {
        var name = Text("normalization", "vit");
        return name switch
        {
            "vit" => "vit",
            "deit" => "imagenet",
            _ => throw Error(Value(net, "normalization"), $"net_kwargs.normalization is '{name}', which the reference does not define; expected vit or deit"),
        };
    }

    private string? DatasetPreset(int classes)
    {
        var name = dataset is null ? null : Scalar(dataset, "dataset", "dataset_kwargs");
        if (name is null) return null;
        var preset = DatasetPresets.Find(name.Replace("pascal_context", "pascal-context"));
        return preset is not null && preset.ClassNames.Count == classes ? preset.Name : null;
    }

    private int Int(string key) => Int(net, key, "net_kwargs") ?? throw Error(net, $"net_kwargs has no '{key}'");

    private int Int(YamlMappingNode mapping, string key, string where, int fallback) => Int(mapping, key, where) ?? fallback;

    private int? Int(YamlMappingNode mapping, string key, string where)
    {
        var text = Scalar(mapping, key, where);
        if (text is null) return null;
        return int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value)
            ? value : throw Error(Value(mapping, key), $"{where}.{key} is '{text}', expected an integer");
    }

    private double Double(YamlMappingNode mapping, string key, string where, double fallback)
    {
        var text = Scalar(mapping, key, where);
        if (text is null) return fallback;
        return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value)
            ? value : throw Error(Value(mapping, key), $"{where}.{key} is '{text}', expected a number");
    }

    private bool Bool(string key, bool fallback) => Scalar(net, key, "net_kwargs") switch
    {
        null => fallback,
        "true" or "True" => true,
        "false" or "False" => false,
        var text => throw Error(Value(net, key), $"net_kwargs.{key} is '{text}', expected true or false"),
    };

    private string Text(string key, string fallback) => Scalar(net, key, "net_kwargs") ?? fallback;

    private (int Height, int Width) Size(string key)
    {
        var node = Value(net, key) ?? throw Error(net, $"net_kwargs has no '{key}'");
        var values = node is YamlSequenceNode sequence ? sequence.Children.Select(s => (s as YamlScalarNode)?.Value).ToList() : new List<string?> { (node as YamlScalarNode)?.Value };
        var numbers = values.Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : -1).ToList();
        if (numbers.Count is < 1 or > 2 || numbers.Any(n => n <= 0))
            throw Error(node, $"net_kwargs.{key} should be a size like [512, 512]");
        return (numbers[0], numbers[numbers.Count - 1]);
    }

    /// <summary>The scalar value of <paramref name="key"/>, or null if it is absent; a list or mapping there is an error.</summary>
    private string? Scalar(YamlMappingNode mapping, string key, string where) => Value(mapping, key) switch
    {
        null => null,
        YamlScalarNode scalar => scalar.Value,
        var other => throw Error(other, $"{where}.{key} should be a single value"),
    };

    private static YamlNode? Value(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    /// <summary>Refuses keys the reference does not read: a misspelt key would otherwise be ignored and its default used.</summary>
    private void CheckKeys(YamlMappingNode mapping, string where, string[] known)
    {
        foreach (var key in mapping.Children.Keys)
            if (key is not YamlScalarNode { Value: { } name } || Array.IndexOf(known, name) < 0)
                throw Error(key, $"{where} has '{(key as YamlScalarNode)?.Value ?? "a non-scalar key"}', which the reference does not read; expected one of {string.Join(", ", known)}");
    }

    /// <summary>An error at <paramref name="node"/>'s position: <c>file(line,column): message</c>.</summary>
    private InvalidDataException Error(YamlNode? node, string message) =>
        new($"{FilePath}{(node is null ? "" : $"({node.Start.Line},{node.Start.Column})")}: {message}");

    private string Combine(string file) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(FilePath))!, file);
}
