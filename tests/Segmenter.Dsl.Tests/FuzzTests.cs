using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.RegularExpressions;
using Segmenter.Dsl.Emit;
using Segmenter.Dsl.Text;
using Segmenter.Spec;
using Xunit;

namespace Segmenter.Dsl.Tests;

/// <summary>
/// Seeded fuzzing of the compiler: random token soups and random mutations of the zoo's spec files.
/// Whatever the input, the compiler must not throw, every diagnostic must be located inside its file
/// with a well-formed ID, and every model it does produce must be valid and emit.
/// </summary>
public sealed class FuzzTests
{
    private static readonly string[] Vocabulary =
    {
        "model", "backbone", "M", "N", "Tiny", "Base", "Seg-X", "class", ":", "{", "}", "(", ")", "=", ",", ";",
        "patch", "image", "classes", "decoder", "mask", "linear", "layers", "width", "heads", "mlp_ratio", "distilled",
        "drop_path", "dropout", "normalize", "custom", "mean", "std", "layer_norm_eps", "pos_embed_resize", "bicubic",
        "16", "512", "0", "-3", "0.1", "1e-5", "4.5", "512x640", "0x0", "99999999999999999999999", "1e999", "\"a\"", "\"", "ade20k",
        "pascal-context", "true", "false", "//c\n", "/// doc\n", "/*", "*/", "\n", " ", "\t", "$", "é", "×", "\u0000", "\\",
    };

    private static readonly Regex Id = new(@"^SEGDSL\d{4}$");

    [Fact]
    public void Random_token_soups_never_crash_and_every_diagnostic_is_located()
    {
        var random = new Random(20211001);
        for (int i = 0; i < 2500; i++)
        {
            int length = random.Next(0, 60);
            var builder = new StringBuilder();
            for (int t = 0; t < length; t++)
            {
                builder.Append(Vocabulary[random.Next(Vocabulary.Length)]);
                if (random.Next(3) > 0) builder.Append(' ');
            }
            Check(builder.ToString(), $"soup #{i}");
        }
    }

    [Fact]
    public void Mutations_of_the_zoo_never_crash_and_every_diagnostic_is_located()
    {
        var files = Directory.GetFiles(RepositoryPaths.Specs, "*.seg").OrderBy(f => f, StringComparer.Ordinal).Select(File.ReadAllText).ToArray();
        var backbones = File.ReadAllText(Path.Combine(RepositoryPaths.Specs, "backbones.seg"));
        var random = new Random(1052);
        for (int i = 0; i < 2600; i++)
        {
            var text = files[random.Next(files.Length)];
            int mutations = 1 + random.Next(4);
            for (int m = 0; m < mutations; m++) text = Mutate(text, random);
            Check(text, $"mutation #{i}", backbones);
        }
    }

    private static string Mutate(string text, Random random)
    {
        if (text.Length == 0) return Vocabulary[random.Next(Vocabulary.Length)];
        int at = random.Next(text.Length);
        switch (random.Next(7))
        {
            case 0: return text.Remove(at, Math.Min(text.Length - at, 1 + random.Next(12)));
            case 1: return text.Insert(at, Vocabulary[random.Next(Vocabulary.Length)]);
            case 2: return text.Substring(0, at) + (char)random.Next(1, 0x3000) + text.Substring(at + 1);
            case 3: return text.Substring(0, at);
            case 4:
            {
                var lines = text.Split('\n').ToList();
                int line = random.Next(lines.Count);
                lines.Insert(random.Next(lines.Count + 1), lines[line]);
                return string.Join("\n", lines);
            }
            case 5:
            {
                var numbers = Regex.Matches(text, @"\d+").Cast<Match>().ToList();
                if (numbers.Count == 0) return text;
                var number = numbers[random.Next(numbers.Count)];
                var replacement = new[] { "0", "1", "3", "7", "15", "100", "-1", "0.5", "65537" }[random.Next(9)];
                return text.Substring(0, number.Index) + replacement + text.Substring(number.Index + number.Length);
            }
            default:
            {
                var words = Regex.Matches(text, @"[A-Za-z_]+").Cast<Match>().ToList();
                if (words.Count == 0) return text;
                var word = words[random.Next(words.Count)];
                return text.Substring(0, word.Index) + Vocabulary[random.Next(Vocabulary.Length)] + text.Substring(word.Index + word.Length);
            }
        }
    }

    private static void Check(string text, string label, string? companion = null)
    {
        var sources = new List<SourceText> { SourceText.From(text, "fuzz.seg") };
        if (companion is not null) sources.Add(SourceText.From(companion, "backbones.seg"));

        SpecCompilation result;
        try
        {
            result = SpecCompiler.Compile(sources);
        }
        catch (Exception e)
        {
            throw new Xunit.Sdk.XunitException($"{label}: the compiler threw {e.GetType().Name}: {e.Message}\n--- input ---\n{text}\n---\n{e}");
        }

        foreach (var diagnostic in result.Diagnostics)
        {
            var source = sources.Single(s => s.Path == diagnostic.Path);
            Assert.True(diagnostic.Span.Start >= 0 && diagnostic.Span.End <= source.Length,
                $"{label}: {diagnostic} has span {diagnostic.Span} outside the file of {source.Length} characters\n{text}");
            Assert.Equal(source.GetLinePositionSpan(diagnostic.Span), diagnostic.LineSpan);
            Assert.Matches(Id, diagnostic.Id);
            Assert.False(string.IsNullOrWhiteSpace(diagnostic.Message));
        }

        foreach (var source in sources)
        {
            Assert.All(result.DiagnosticsFor(source.Path), d => Assert.Contains(d, result.Diagnostics));
            foreach (var name in result.DeclaredModels(source.Path))
            {
                // One rule: a model either compiled, or its own or its dependencies' declarations hold the errors that say why.
                var why = result.DiagnosticsForModel(name);
                Assert.All(why, d => Assert.True(d.IsError, d.ToString()));
                if (result.Find(name) is null)
                    Assert.True(why.Count > 0, $"{label}: model '{name}' did not compile and no error says why\n{text}\n{string.Join("\n", result.Diagnostics)}");
            }
        }

        foreach (var model in result.Models)
        {
            var spec = model.Spec;
            Assert.Equal(0, spec.Backbone.Width % spec.Backbone.Heads);
            Assert.Equal(0, spec.ImageHeight % spec.PatchSize);
            Assert.Equal(0, spec.ImageWidth % spec.PatchSize);
            Assert.InRange(spec.NumClasses, 1, int.MaxValue);
            Assert.InRange(spec.Backbone.Layers, 1, int.MaxValue);
            if (spec.Decoder.Kind == DecoderKind.Mask) Assert.Equal(0, spec.Decoder.Width % spec.Decoder.Heads);
            Assert.Null(Binding.CSharpNames.Problem(spec.Name));
            Assert.Contains("class " + spec.Name, CSharpEmitter.EmitModel(model, "Fuzz"));
            Assert.Contains("partial class " + spec.Name, CSharpEmitter.EmitOnnxGraph(model, "Fuzz"));
            Assert.Empty(result.DiagnosticsForModel(spec.Name));
        }
    }
}
