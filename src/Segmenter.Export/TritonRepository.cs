using System;
using System.Collections.Generic;
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
    /// Writes <c>repository/name/config.pbtxt</c> and <c>repository/name/1/model.onnx</c>: platform onnxruntime_onnx, the
    /// model's input and output shapes (-1 for a dynamic height and width), dynamic batching, instances, warm-up and, if
    /// asked for, the TensorRT accelerator; with <paramref name="externalData"/>, the weights in a data file beside model.onnx
    /// (Triton's ONNX Runtime backend opens it from the version folder).
    /// </summary>
    public static string Write(string repository, string name, ModelProto model, int classes, bool labels, TritonSettings settings, bool externalData = false)
    {
        Validate(name, settings);
        var directory = Path.Combine(repository, name);
        Directory.CreateDirectory(Path.Combine(directory, "1"));
        OnnxExporter.Save(model, Path.Combine(directory, "1", "model.onnx"), externalData);
        var config = Path.Combine(directory, "config.pbtxt");
        AtomicFile.WriteText(config, Config(name, classes, labels, settings, StaticSize(model)));
        return directory;
    }

    /// <summary>The fixed (height, width) of an exported graph's image input, or null where they are dynamic.</summary>
    public static (int Height, int Width)? StaticSize(ModelProto model)
    {
        var input = model.Graph.Input.FirstOrDefault(i => i.Name == "image");
        var dims = input?.Type?.TensorType?.Shape?.Dim;
        if (dims is null || dims.Count != 4 || dims[2].DimValue <= 0 || dims[3].DimValue <= 0) return null;
        return ((int)dims[2].DimValue, (int)dims[3].DimValue);
    }

    /// <summary>
    /// Throws unless <paramref name="name"/> is a plain folder name of letters, digits, '-' and '_' (so an
    /// entry can never lie outside the repository) and <paramref name="settings"/> are in range (batch, instances, a growing TensorRT profile).
    /// </summary>
    public static void Validate(string name, TritonSettings settings)
    {
        if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_'))
            throw new ArgumentException($"'{name}' cannot name a Triton model: use letters, digits, '-' and '_' (for example --name {SuggestName(name)})");
        if (settings.MaxBatch < 1) throw new ArgumentException($"--max-batch must be at least 1, got {settings.MaxBatch}");
        if (settings.Instances < 1) throw new ArgumentException($"--instances must be at least 1, got {settings.Instances}");
        if (settings.TensorRt?.Profile is { } p)
        {
            CheckProfile(p);
            if (p.Max.Batch > settings.MaxBatch)
                throw new ArgumentException($"--trt-profile's largest batch {p.Max.Batch} is above --max-batch {settings.MaxBatch}; Triton would send batches the engine cannot take");
            if (p.Min.Batch > 1 && settings.Warmup.Count > 0)
                throw new ArgumentException($"--trt-profile's smallest batch is {p.Min.Batch}, but the warm-up (and a single request) sends batch 1: start the profile at batch 1");
            foreach (var (height, width) in settings.Warmup)
                if (height < p.Min.Height || height > p.Max.Height || width < p.Min.Width || width > p.Max.Width)
                    throw new ArgumentException($"the warm-up size {height}x{width} is outside --trt-profile ({p.Min.Height}x{p.Min.Width} to {p.Max.Height}x{p.Max.Width}): " +
                                                "give --warmup sizes inside the profile");
        }
    }

    /// <summary>Throws unless each of a TensorRT profile's batch, height and width grows from min to opt to max, from 1.</summary>
    public static void CheckProfile((TensorShape Min, TensorShape Opt, TensorShape Max) p)
    {
        bool ordered = p.Min.Batch >= 1 && p.Min.Height >= 1 && p.Min.Width >= 1
                       && p.Min.Batch <= p.Opt.Batch && p.Opt.Batch <= p.Max.Batch && p.Min.Height <= p.Opt.Height && p.Opt.Height <= p.Max.Height
                       && p.Min.Width <= p.Opt.Width && p.Opt.Width <= p.Max.Width;
        if (!ordered)
            throw new ArgumentException($"--trt-profile {p.Min.Batch}x{p.Min.Height}x{p.Min.Width},{p.Opt.Batch}x{p.Opt.Height}x{p.Opt.Width},{p.Max.Batch}x{p.Max.Height}x{p.Max.Width}: " +
                                        "each of batch, height and width must grow from min to opt to max, from 1");
    }

    /// <summary>
    /// A Triton model name made from a model name: lower case, accents dropped (é → e), other characters as '_'. A name
    /// with letters or digits that have no ASCII form (Модель, 模型) ends in eight hex digits of its SHA-256, so that two
    /// such models do not share one folder of the repository.
    /// </summary>
    public static string SuggestName(string modelName)
    {
        var plain = new string(modelName.Normalize(System.Text.NormalizationForm.FormD)
            .Where(c => System.Globalization.CharUnicodeInfo.GetUnicodeCategory(c) != System.Globalization.UnicodeCategory.NonSpacingMark).ToArray());
        var name = new string(plain.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '_').ToArray()).Trim('_');
        if (name.Length == 0) name = "model";
        if (plain.Any(c => char.IsLetterOrDigit(c) && !char.IsAscii(c)))
            name += "_" + Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(modelName)), 0, 4).ToLowerInvariant();
        return name;
    }

    /// <summary>The config.pbtxt text; <paramref name="staticSize"/> fixes height and width (a --static export).</summary>
    public static string Config(string name, int classes, bool labels, TritonSettings settings, (int Height, int Width)? staticSize = null)
    {
        static string N(long value) => value.ToString(CultureInfo.InvariantCulture);
        string h = staticSize is { } s ? N(s.Height) : "-1", w = staticSize is { } t ? N(t.Width) : "-1";
        var text = new StringBuilder();
        text.Append("name: \"").Append(name).Append("\"\n");
        text.Append("platform: \"onnxruntime_onnx\"\n");
        text.Append("max_batch_size: ").Append(N(settings.MaxBatch)).Append('\n');
        text.Append("input [\n");
        text.Append($"  {{\n    name: \"image\"\n    data_type: TYPE_FP32\n    dims: [ 3, {h}, {w} ]\n  }}\n");
        text.Append("]\n");
        text.Append("output [\n");
        text.Append($"  {{\n    name: \"logits\"\n    data_type: TYPE_FP32\n    dims: [ {N(classes)}, {h}, {w} ]\n  }}");
        if (labels)
            text.Append($",\n  {{\n    name: \"labels\"\n    data_type: {(LabelsOutput.IsByte(classes) ? "TYPE_UINT8" : "TYPE_INT64")}\n    dims: [ {h}, {w} ]\n  }}");
        text.Append("\n]\n");
        text.Append($"dynamic_batching {{\n  max_queue_delay_microseconds: {N(settings.MaxQueueDelayMicroseconds)}\n}}\n");
        // ONNX Runtime's memory pattern off, as OnnxSession has it (see OnnxSessionOptions.MemoryPattern).
        text.Append("parameters {\n  key: \"enable_mem_pattern\"\n  value: { string_value: \"0\" }\n}\n");
        text.Append($"instance_group [\n  {{\n    count: {N(settings.Instances)}\n    kind: {(settings.TensorRt is null ? "KIND_AUTO" : "KIND_GPU")}\n  }}\n]\n");
        if (settings.TensorRt is { } trt)
        {
            // The ONNX Runtime backend's TensorRT accelerator (parameter names as its README maps them to the EP's options).
            var parameters = new List<(string Key, string Value)>
            {
                ("precision_mode", trt.Float16 ? "FP16" : "FP32"),
                ("max_workspace_size_bytes", N(trt.WorkspaceBytes)),
                ("trt_engine_cache_enable", "1"),
                ("trt_engine_cache_path", trt.CachePath),
                ("trt_timing_cache_enable", "1"),
                ("trt_timing_cache_path", trt.CachePath),
            };
            if (trt.Float16) parameters.Add(("trt_layer_norm_fp32_fallback", "1"));   // LayerNorm's variance overflows in float16
            if (trt.Profile is { } p)
            {
                parameters.Add(("trt_profile_min_shapes", p.Min.ToString()));
                parameters.Add(("trt_profile_opt_shapes", p.Opt.ToString()));
                parameters.Add(("trt_profile_max_shapes", p.Max.ToString()));
            }
            text.Append("optimization {\n  execution_accelerators {\n    gpu_execution_accelerator : [\n      {\n        name : \"tensorrt\"\n");
            foreach (var (key, value) in parameters)
                text.Append($"        parameters {{ key: \"{key}\" value: \"{value.Replace("\\", "\\\\").Replace("\"", "\\\"")}\" }}\n");
            text.Append("      }\n    ]\n  }\n}\n");
        }
        var warmup = settings.Warmup.Count == 0 && staticSize is { } fixedSize ? new List<(int, int)> { fixedSize } : settings.Warmup;
        if (warmup.Count > 0)
        {
            text.Append("model_warmup [\n");
            for (int i = 0; i < warmup.Count; i++)
            {
                var (height, width) = warmup[i];
                text.Append($"  {{\n    name: \"image_{N(height)}x{N(width)}\"\n    batch_size: 1\n    inputs {{\n      key: \"image\"\n");
                text.Append($"      value: {{\n        data_type: TYPE_FP32\n        dims: [ 3, {N(height)}, {N(width)} ]\n        zero_data: true\n      }}\n    }}\n  }}");
                text.Append(i + 1 < warmup.Count ? ",\n" : "\n");
            }
            text.Append("]\n");
        }
        return text.ToString();
    }
}
