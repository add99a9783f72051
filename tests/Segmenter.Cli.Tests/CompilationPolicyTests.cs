using System;
using System.IO;
using System.Linq;
using Xunit;

namespace Segmenter.Cli.Tests;

/// <summary>
/// One compilation policy for every command: a broken spec file beside a valid one never stops the valid
/// one's models, and `check` reports each problem only in the file it is in.
/// </summary>
public sealed class CompilationPolicyTests : IDisposable
{
    private readonly DirectoryInfo folder = Directory.CreateTempSubdirectory("segmenter-policy-");
    private readonly string valid;
    private readonly string broken;

    public CompilationPolicyTests()
    {
        valid = Path.Combine(folder.FullName, "tiny.seg");
        broken = Path.Combine(folder.FullName, "scratch.seg");
        File.WriteAllText(valid, "backbone Wee { layers = 1 width = 32 heads = 2 }\nmodel WeeModel { backbone = Wee patch = 8 image = 32 classes = 3 }\n");
        File.WriteAllText(broken, "model Scratch : WeeModel {\n  patch = \n  heads = 3\n}\n");
    }

    public void Dispose() => folder.Delete(recursive: true);

    [Fact]
    public void Commands_on_the_valid_file_work_beside_a_broken_one()
    {
        var (showExit, shown, showError) = CliTests.Run("show", valid, "--json");
        Assert.True(showExit == 0, showError);
        Assert.Contains("\"WeeModel\"", shown);

        var (emitExit, emitted, emitError) = CliTests.Run("emit", valid);
        Assert.True(emitExit == 0, emitError);
        Assert.Contains("public sealed partial class WeeModel", emitted);
        Assert.Contains("IOnnxExportable", emitted);

        var onnx = Path.Combine(folder.FullName, "wee.onnx");
        var (exportExit, _, exportError) = CliTests.Run("export", valid, "--out", onnx, "--device", "cpu");
        Assert.True(exportExit == 0, exportError);
        Assert.True(File.Exists(onnx));
    }

    [Fact]
    public void Check_reports_the_error_only_in_the_broken_file()
    {
        var (validExit, validOutput, _) = CliTests.Run("check", valid);
        Assert.Equal(0, validExit);
        Assert.EndsWith("1 file, 1 model, 0 errors", validOutput.Trim());

        var (bothExit, bothOutput, _) = CliTests.Run("check", valid, broken);
        Assert.Equal(1, bothExit);
        var diagnostics = bothOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.Contains(": error ")).ToList();
        Assert.NotEmpty(diagnostics);
        Assert.All(diagnostics, line => Assert.StartsWith(broken + "(", line));
    }

    [Fact]
    public void A_model_inheriting_from_a_broken_one_is_told_why_in_the_other_file()
    {
        var derived = Path.Combine(folder.FullName, "derived.seg");
        File.WriteAllText(derived, "model Derived : Scratch { classes = 4 }\n");
        var (exit, output, _) = CliTests.Run("check", derived);
        Assert.Equal(1, exit);
        Assert.Contains(broken + "(", output);

        var (showExit, _, error) = CliTests.Run("show", derived);
        Assert.Equal(1, showExit);
        Assert.Contains("Derived", error);
        Assert.Contains(broken + "(", error);
    }
}
