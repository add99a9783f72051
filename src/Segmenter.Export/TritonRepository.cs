using System;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Onnx;
using Segmenter.Runtime;

namespace Segmenter.Export;

/// <summary>Writes a Triton Inference Server model repository entry for an exported model.</summary>
public static class TritonRepository
{
    /// <summary>
    /// Writes <c>repository/name/config.pbtxt</c> and <c>repository/name/1/model.onnx</c>: platform
    /// onnxruntime_onnx, dynamic height and width (-1), dynamic batching up to <paramref name="maxBatch"/>.
    /// </summary>
    public static string Write(string repository, string name, ModelProto model, int classes, bool labels, int maxBatch)
    {
        Validate(name, maxBatch);
        var directory = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(directory, "1"));
        OnnxExporter.Save(model, Path.Combine(directory, "1", "model.onnx"));
        var config = Path.Combine(directory, "config.pbtxt");
        AtomicFile.WriteText(config, Config(name, classes, labels, maxBatch));
        return directory;
    }

    /// <summary>
    /// Throws unless <paramref name="name"/> is a plain folder name of letters, digits, '-' and '_' (so an
    /// entry can never lie outside the repository) and <paramref name="maxBatch"/> is at least 1.
    /// </summary>
    public static void Validate(string name, int maxBatch)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"'{name}' cannot name a Triton model: use letters, digits, '-' and '_' (for example --name {SuggestName(name)})");
        if (maxBatch < 1) throw new ArgumentException($"--max-batch must be at least 1, got {maxBatch}");
    }

    /// <summary>A Triton model name made from a model name: lower case, other characters as '_'.</summary>
    public static string SuggestName(string modelName)
    {
        var name = new string(modelName.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray()).Trim('_');
        return name.Length == 0 ? "model" : name;
    }

    /// <summary>The config.pbtxt text.</summary>
    public static string Config(string name, int classes, bool labels, int maxBatch)
    {
        var text = new StringBuilder();
        text.Append("name: \"").Append(name).Append("\"\n");
        text.Append("platform: \"onnxruntime_onnx\"\n");
        text.Append("max_batch_size: ").Append(maxBatch.ToString(CultureInfo.InvariantCulture)).Append('\n');
        text.Append("input [\n");
        text.Append("  {\n    name: \"image\"\n    data_type: TYPE_FP32\n    dims: [ 3, -1, -1 ]\n  }\n");
        text.Append("]\n");
        text.Append("output [\n");
        text.Append("  {\n    name: \"logits\"\n    data_type: TYPE_FP32\n    dims: [ ").Append(classes.ToString(CultureInfo.InvariantCulture)).Append(", -1, -1 ]\n  }");
        if (labels)
            text.Append(",\n  {\n    name: \"labels\"\n    data_type: ").Append(LabelsOutput.IsByte(classes) ? "TYPE_UINT8" : "TYPE_INT64").Append("\n    dims: [ -1, -1 ]\n  }");
        text.Append("\n]\n");
        text.Append("dynamic_batching {\n  max_queue_delay_microseconds: 100\n}\n");
        text.Append("instance_group [\n  {\n    count: 1\n    kind: KIND_AUTO\n  }\n]\n");
        return text.ToString();
    }
}
