using System;
using System.Diagnostics;
using System.IO;
using Xunit;

namespace Segmenter.PyTorch.Tests;

/// <summary>
/// Debian's Python with torch (python3-torch), which runs the emitted modules. Tests that need it are skipped,
/// visibly, where it is not installed — but never in CI (CI=true), where .ci/run installs it.
/// </summary>
internal static class PythonTorch
{
    public static string Python { get; } = Environment.GetEnvironmentVariable("SEGMENTER_PYTHON") is { Length: > 0 } python ? python : "/usr/bin/python3";

    public static bool Available { get; } = File.Exists(Python) && Run("import torch; print(torch.__version__)", Path.GetTempPath()).Exit == 0;

    /// <summary>A reader of safetensors files for the scripts (numpy only), so a script depends on nothing but torch.</summary>
    public const string SafeTensorsReader = """
        import json, struct
        import numpy as np
        import torch

        def read_safetensors(path):
            with open(path, "rb") as f:
                data = f.read()
            (length,) = struct.unpack("<Q", data[:8])
            header = json.loads(data[8:8 + length])
            body = data[8 + length:]
            tensors = {}
            for name, entry in header.items():
                if name == "__metadata__":
                    continue
                start, end = entry["data_offsets"]
                dtype = {"F32": np.float32, "I64": np.int64, "U8": np.uint8}[entry["dtype"]]
                array = np.frombuffer(body[start:end], dtype=dtype).reshape(entry["shape"])
                tensors[name] = torch.from_numpy(array.copy())
            return tensors

        def load_module(path):
            import importlib.util
            spec = importlib.util.spec_from_file_location("emitted_" + str(abs(hash(path))), path)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
        """;

    /// <summary>Skips the calling test with a message when torch is absent outside CI; fails in CI.</summary>
    public static void RequireOrSkip()
    {
        if (Available) return;
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            Assert.Fail($"PyTorch is required in CI but {Python} cannot import torch; .ci/run installs python3-torch with apt-get");
        Skip.If(true, $"PyTorch is not installed here ({Python} cannot import torch; apt-get install python3-torch)");
    }

    /// <summary>
    /// Runs <paramref name="script"/> (after the safetensors reader) in <paramref name="directory"/> and returns its standard
    /// output (warnings on standard error do not mix into it); fails the test on a non-zero exit, showing both.
    /// </summary>
    public static string RunScript(string script, string directory, params string[] arguments)
    {
        var (exit, output, error) = Run(SafeTensorsReader + "\n" + script, directory, arguments);
        Assert.True(exit == 0, $"the Python script failed (exit {exit}):\n{output}\n{error}");
        return output;
    }

    private static (int Exit, string Output, string Error) Run(string script, string directory, params string[] arguments)
    {
        var path = Path.Combine(directory, $"script-{Guid.NewGuid():N}.py");
        File.WriteAllText(path, script);
        var info = new ProcessStartInfo(Python) { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        info.ArgumentList.Add(path);
        foreach (var argument in arguments) info.ArgumentList.Add(argument);
        info.Environment["OMP_NUM_THREADS"] = "2";
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            process.Kill(entireProcessTree: true);
            return (-1, output.Result, "timed out after 5 minutes\n" + error.Result);
        }
        File.Delete(path);
        return (process.ExitCode, output.Result, error.Result);
    }
}
