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

    private ReferenceVariant(string path, YamlMappingNode net, YamlMappingNode? dataset)
    {
        FilePath = path;
        this.net = net;
        this.dataset = dataset;
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
        catch (YamlDotNet.Core.YamlException e)
        {
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

        double? mlpRatio = net.Children.ContainsKey(new YamlScalarNode("d_ff")) && Int("d_ff") != 4 * width ? (double)Int("d_ff") / width : null;
        var properties = new List<(string, string)>
        {
            ("backbone", backboneName),
            ("patch", patch.ToString(CultureInfo.InvariantCulture)),
            ("image", SpecPrinter.Size(height, imageWidth)),
            ("classes", DatasetPreset(classes) ?? classes.ToString(CultureInfo.InvariantCulture)),
            ("decoder", Decoder()),
            ("drop_path", SpecPrinter.Number(Double("drop_path_rate", 0.1))),
            ("dropout", SpecPrinter.Number(Double("dropout", 0.0))),
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
            throw new InvalidDataException($"{FilePath}: net_kwargs has no 'decoder' mapping");
        var name = Scalar(decoder, "name") ?? throw new InvalidDataException($"{FilePath}: net_kwargs.decoder has no 'name'");
        if (name == "linear") return DecoderNames.Linear;   // the reference's name happens to be the spec language's
        if (name != "mask_transformer")
            throw new InvalidDataException($"{FilePath}: decoder '{name}' is not one of the reference's decoders (linear, mask_transformer)");
        var layers = Scalar(decoder, "n_layers") ?? "2";
        var dropout = Scalar(decoder, "dropout") ?? "0.1";
        var dropPath = Scalar(decoder, "drop_path_rate") ?? "0.0";
        return $"mask(layers = {layers}, dropout = {SpecPrinter.Number(ParseDouble(dropout, "decoder.dropout"))}, drop_path = {SpecPrinter.Number(ParseDouble(dropPath, "decoder.drop_path_rate"))})";
    }

    /// <summary>The reference's normalisation names: vit (mean = std = 0.5) and deit (ImageNet statistics); anything else is an error.</summary>
    private string Normalization()
    {
        var name = Text("normalization", "vit");
        return name switch
        {
            "vit" => "vit",
            "deit" => "imagenet",
            _ => throw new InvalidDataException($"{FilePath}{Line("normalization")}: net_kwargs.normalization is '{name}', which the reference does not define; expected vit or deit"),
        };
    }

    /// <summary>"(line N)" of <paramref name="key"/>'s value in net_kwargs, for messages.</summary>
    private string Line(string key) =>
        net.Children.TryGetValue(new YamlScalarNode(key), out var node) ? $"({node.Start.Line},{node.Start.Column})" : "";

    private string? DatasetPreset(int classes)
    {
        var name = dataset is null ? null : Scalar(dataset, "dataset");
        if (name is null) return null;
        var preset = DatasetPresets.Find(name.Replace("pascal_context", "pascal-context"));
        return preset is not null && preset.ClassNames.Count == classes ? preset.Name : null;
    }

    private int Int(string key)
    {
        var text = Scalar(net, key) ?? throw new InvalidDataException($"{FilePath}: net_kwargs has no '{key}'");
        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
            ? value : throw new InvalidDataException($"{FilePath}: net_kwargs.{key} is '{text}', expected an integer");
    }

    private double Double(string key, double fallback) => Scalar(net, key) is { } text ? ParseDouble(text, key) : fallback;

    private bool Bool(string key, bool fallback) => Scalar(net, key) is { } text ? text.Equals("true", StringComparison.OrdinalIgnoreCase) : fallback;

    private string Text(string key, string fallback) => Scalar(net, key) ?? fallback;

    private (int Height, int Width) Size(string key)
    {
        if (!net.Children.TryGetValue(new YamlScalarNode(key), out var node))
            throw new InvalidDataException($"{FilePath}: net_kwargs has no '{key}'");
        var values = node is YamlSequenceNode sequence ? sequence.Children.OfType<YamlScalarNode>().Select(s => s.Value).ToList() : new List<string?> { (node as YamlScalarNode)?.Value };
        var numbers = values.Select(v => int.TryParse(v, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) ? n : -1).ToList();
        if (numbers.Count is < 1 or > 2 || numbers.Any(n => n <= 0))
            throw new InvalidDataException($"{FilePath}: net_kwargs.{key} should be a size like [512, 512]");
        return (numbers[0], numbers[numbers.Count - 1]);
    }

    private double ParseDouble(string text, string key) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value)
            ? value : throw new InvalidDataException($"{FilePath}: {key} is '{text}', expected a number");

    private static string? Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var value) && value is YamlScalarNode scalar ? scalar.Value : null;

    private string Combine(string file) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(FilePath))!, file);
}
