using System;
using System.Globalization;
using System.IO;
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
        if (string.IsNullOrWhiteSpace(name) || name.IndexOfAny(Path.GetInvalidFileNameChars()) >= 0 || name.Contains('/'))
            throw new ArgumentException($"'{name}' cannot name a Triton model: use letters, digits, '-' and '_'");
        if (maxBatch < 1) throw new ArgumentException($"--max-batch must be at least 1, got {maxBatch}");
        var directory = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(directory, "1"));
        OnnxExporter.Save(model, Path.Combine(directory, "1", "model.onnx"));
        var config = Path.Combine(directory, "config.pbtxt");
        AtomicFile.WriteText(config, Config(name, classes, labels, maxBatch));
        return directory;
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
            text.Append(",\n  {\n    name: \"labels\"\n    data_type: ").Append(classes <= 256 ? "TYPE_UINT8" : "TYPE_INT64").Append("\n    dims: [ -1, -1 ]\n  }");
        text.Append("\n]\n");
        text.Append("dynamic_batching {\n  max_queue_delay_microseconds: 100\n}\n");
        text.Append("instance_group [\n  {\n    count: 1\n    kind: KIND_AUTO\n  }\n]\n");
        return text.ToString();
    }
}
