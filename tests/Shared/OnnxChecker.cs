using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace Segmenter.Tests;

/// <summary>
/// The reference ONNX checker (Debian's python3-onnx: onnx.checker.check_model with full_check, which
/// also runs strict shape inference). Tests that use it are skipped, visibly, where it is not
/// installed — but never in CI (CI=true), where .ci/run installs it.
/// </summary>
internal static class OnnxChecker
{
    private const string Python = "/usr/bin/python3";

    public static bool Available { get; } = Probe();

    /// <summary>Skips the calling test with a message when the checker is absent outside CI; fails in CI.</summary>
    public static void RequireOrSkip()
    {
        if (Available) return;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail("the ONNX checker (Debian python3-onnx) is required in CI but /usr/bin/python3 cannot import onnx; .ci/run installs it with apt-get");
        Skip.If(true, "the ONNX checker is not installed here (apt-get install python3-onnx): ONNX files are checked by ONNX Runtime only");
    }

    /// <summary>Runs the full check; returns the checker's complaint, or null if the file passes.</summary>
    public static string? Check(string path)
    {
        var (exit, output) = Run("import onnx, sys; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')", path);
        return exit == 0 && output.Trim() == "ok" ? null : output;
    }

    private static bool Probe() => File.Exists(Python) && Run("import onnx; print(onnx.__version__)").Exit == 0;

    private static (int Exit, string Output) Run(string script, params string[] arguments)
    {
        var info = new ProcessStartInfo(Python) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add("-c");
        info.ArgumentList.Add(script);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        process.WaitForExit();
        return (process.ExitCode, output.Result + error.Result);
    }
}
