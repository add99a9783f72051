using System.Collections.Generic;
using System.Linq;

namespace Segmenter.Dsl.Emit.PyTorch;

/// <summary>
/// Emits a model as a self-contained PyTorch module file: the same spec as the generated TorchSharp class, with
/// equal <c>state_dict</c> keys, shapes and order, the same initialisation (in distribution) and the same forward
/// pass, so weights move between the engines unchanged. The file needs only torch (1.13 or 2.x): it defines the
/// module class named after the model, <c>SPEC</c> (every resolved property, the JSON object <c>segmenter show --json</c>
/// prints), <c>SPEC_TEXT</c> (the spec as .seg text) and <c>create_model()</c>.
/// </summary>
public static class PyTorchEmitter
{
    private static readonly HashSet<string> PythonKeywords = new(System.StringComparer.Ordinal)
    {
        "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue", "def", "del", "elif", "else",
        "except", "finally", "for", "from", "global", "if", "import", "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise",
        "return", "try", "while", "with", "yield",
    };

    private static readonly HashSet<string> ModuleNames = new(System.StringComparer.Ordinal)
    {
        "math", "torch", "F", "nn", "SPEC", "SPEC_TEXT", "WIDTH", "LAYERS", "HEADS", "MLP_WIDTH", "PATCH_SIZE", "GRID_HEIGHT", "GRID_WIDTH",
        "NUM_CLASSES", "EXTRA_TOKENS", "LAYER_NORM_EPS", "DropPath", "Attention", "Mlp", "Block", "PatchEmbedding", "Encoder", "Decoder",
        "create_model", "_FUSED_ATTENTION", "_trunc_normal_", "_init_weights", "_drop_path_rates", "_dropout", "_blocks", "_resize_pos_embed",
        "_check_layer", "_check_images",
        // Builtins the module calls: a class of that name would shadow them.
        "super", "isinstance", "hasattr", "range", "list", "len", "int", "float", "str", "abs", "min", "max", "print", "object", "type", "ValueError",
    };

    /// <summary>A file name for <paramref name="modelName"/>'s module: <c>segt16.py</c>.</summary>
    public static string FileName(string modelName) => modelName.ToLowerInvariant() + ".py";

    /// <summary>
    /// Why <paramref name="modelName"/> cannot be the module's class name (a Python keyword, or a name the module
    /// itself defines), or null. Model names are C# identifiers; a few of those are not free in Python.
    /// </summary>
    public static string? NameProblem(string modelName)
    {
        // Python reads every identifier in its NFKC form (a fullwidth 'ｎｎ' is 'nn'): compare that form.
        var name = ClassName(modelName);
        var spelled = name == modelName ? $"'{modelName}'" : $"'{modelName}' (which Python reads as '{name}')";
        return PythonKeywords.Contains(name) ? $"{spelled} is a Python keyword"
            : ModuleNames.Contains(name) ? $"{spelled} is a name the generated module defines itself ({string.Join(", ", ModuleNames.OrderBy(n => n, System.StringComparer.Ordinal))})"
            : name.StartsWith("__", System.StringComparison.Ordinal) && name.EndsWith("__", System.StringComparison.Ordinal) ? $"{spelled} is a name Python gives a module itself (__all__, __name__ …)"
            : null;
    }

    /// <summary>The module's class name for <paramref name="modelName"/>: the NFKC form, the name Python itself reads.</summary>
    public static string ClassName(string modelName) => modelName.Normalize(System.Text.NormalizationForm.FormKC);

    /// <summary>The Python source of <paramref name="model"/>; throws <see cref="System.ArgumentException"/> if its name cannot be a Python class's (<see cref="NameProblem"/>).</summary>
    public static string Emit(CompiledModel model)
    {
        if (NameProblem(model.Spec.Name) is { } problem)
            throw new System.ArgumentException($"model {model.Spec.Name} cannot be emitted as a PyTorch module: {problem}; rename the model in its spec");
        var w = new SourceWriter();
        var spec = model.Spec;
        ModuleHeaderWriter.Write(w, model);
        SpecDictionaryWriter.Write(w, spec);
        w.Lines(PythonBlocks.Source);
        w.Line();
        ModuleClassWriter.Write(w, spec);
        return w.ToString();
    }
}
