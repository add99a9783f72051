using System.Linq;
using Segmenter.Spec;

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
    /// <summary>A file name for <paramref name="modelName"/>'s module: <c>segt16.py</c>.</summary>
    public static string FileName(string modelName) => modelName.ToLowerInvariant() + ".py";

    /// <summary>The Python source of <paramref name="model"/>.</summary>
    public static string Emit(CompiledModel model)
    {
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
