using System;
using System.IO;
using System.Linq;
using Segmenter.Tests;
using Segmenter.Tooling;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// The variant.yml reader (the reference's model description) against damaged and misspelt files: every value it does
/// not understand and every key the reference does not read is an error at its line; seeded mutations are translated
/// into a model or refused naming the file, never another exception.
/// </summary>
public sealed class VariantFileTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-variant-");

    public void Dispose() => folder.Delete(recursive: true);

    private string Write(string text)
    {
        var path = Path.Combine(folder.FullName, "variant.yml");
        File.WriteAllText(path, text);
        return path;
    }

    private static string Fixture(string name) => File.ReadAllText(TestPaths.Fixture(name, "variant.yml"));

    [Theory]
    [InlineData("n_layers: 2", "n_layer: 2", "(15,3): net_kwargs has 'n_layer', which the reference does not read")]
    [InlineData("distilled: false", "distilled: maybe", "(7,14): net_kwargs.distilled is 'maybe', expected true or false")]
    [InlineData("dropout: 0.0", "dropout: lots", "(9,12): net_kwargs.dropout is 'lots', expected a number")]
    [InlineData("d_model: 64", "d_model: [64]", "(3,12): net_kwargs.d_model should be a single value")]
    [InlineData("d_model: 64", "d_model: 64.5", "(3,12): net_kwargs.d_model is '64.5', expected an integer")]
    [InlineData("    name: linear", "    name: linear\n    n_head: 3", "(7,5): net_kwargs.decoder has 'n_head', which the reference does not read")]
    [InlineData("    n_cls: 5", "    n_cls: [5]", "(5,12): net_kwargs.decoder.n_cls should be a single value")]
    [InlineData("dropout: 0.0", "dropout: .nan", "(9,12): net_kwargs.dropout is '.nan', expected a number")]
    public void Values_and_keys_the_reference_does_not_define_are_errors_at_their_line(string original, string replacement, string expected)
    {
        var source = Fixture("micro-linear");
        Assert.Contains(original, source);
        var path = Write(source.Replace(original, replacement));
        var error = Assert.Throws<InvalidDataException>(() => ReferenceVariant.Read(path).Compile());
        Assert.Contains(path + expected, error.Message);
    }

    [Theory]
    [InlineData("micro-linear")]
    [InlineData("micro-mask")]
    [InlineData("micro-deit-mask")]
    public void Damaged_variant_files_are_translated_or_refused(string fixture)
    {
        var source = Fixture(fixture);
        Assert.NotNull(ReferenceVariant.Read(Write(source)).Compile());
        const string alphabet = "0123456789abcdefxyz_-.:[]{},!&*#'\" \t\n";
        var random = new Random(fixture.Length * 101);
        int refused = 0, runs = 400;
        for (int i = 0; i < runs; i++)
        {
            var text = source.ToCharArray().ToList();
            switch (i % 4)
            {
                case 0:   // characters replaced
                    for (int k = random.Next(1, 4); k > 0; k--) text[random.Next(text.Count)] = alphabet[random.Next(alphabet.Length)];
                    break;
                case 1:   // a span deleted
                    int start = random.Next(text.Count);
                    text.RemoveRange(start, Math.Min(text.Count - start, random.Next(1, 12)));
                    break;
                case 2:   // characters inserted
                    for (int k = random.Next(1, 4); k > 0; k--) text.Insert(random.Next(text.Count), alphabet[random.Next(alphabet.Length)]);
                    break;
                default:  // two lines swapped
                    var lines = new string(text.ToArray()).Split('\n');
                    int a = random.Next(lines.Length), b = random.Next(lines.Length);
                    (lines[a], lines[b]) = (lines[b], lines[a]);
                    text = string.Join('\n', lines).ToList();
                    break;
            }
            var path = Write(new string(text.ToArray()));
            try
            {
                var model = ReferenceVariant.Read(path).Compile();
                Assert.True(model.Spec.NumClasses > 0);
            }
            catch (Exception e) when (e is InvalidDataException or SpecCompilationException)
            {
                Assert.StartsWith(path, e.Message);
                refused++;
            }
        }
        Assert.True(refused > runs / 4, $"only {refused} of {runs} damaged files were refused");
    }
}
