using System;
using System.Collections.Generic;
using System.Linq;
using System.Reflection;
using System.Text.Json;
using Google.Protobuf;
using Onnx;
using Segmenter.Spec;
using Segmenter.Runtime;

namespace Segmenter.Export;

/// <summary>Exports generated models to ONNX from their generated graph definitions (no tracing).</summary>
public static class OnnxExporter
{
    /// <summary>The ONNX model of <paramref name="model"/> with its current weights.</summary>
    public static ModelProto Export(SegmenterModel model, OnnxExportOptions? options = null)
    {
        options ??= new OnnxExportOptions();
        if (model is not IOnnxExportable exportable)
            throw new NotSupportedException($"{model.GetType().Name} has no generated ONNX graph; regenerate it from its spec");
        var spec = model.Specification;
        var graph = new OnnxGraph(spec, model.state_dict(), options);
        exportable.DefineOnnxGraph(graph);
        return graph.Build(Metadata(spec, options), ProducerVersion);
    }

    /// <summary>
    /// Writes <paramref name="model"/> to <paramref name="path"/> atomically: one file, or with <paramref name="externalData"/>
    /// the weights in a data file beside it (<see cref="OnnxExternalData.Save"/>). Data files an earlier export to the same path
    /// left are deleted once the new file is in place.
    /// </summary>
    public static void Save(ModelProto model, string path, bool externalData = false)
    {
        if (externalData)
        {
            OnnxExternalData.Save(model, path);
            return;
        }
        AtomicFile.Write(path, stream => model.WriteTo(stream));
        OnnxExternalData.DeleteStale(path, keep: null);
    }

    /// <summary>This library's version, recorded as the producer version.</summary>
    public static string ProducerVersion { get; } =
        typeof(OnnxExporter).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion.Split('+')[0] ?? "0.0.0";

    private static Dictionary<string, string> Metadata(SegmenterSpec spec, OnnxExportOptions options) => new()
    {
        [OnnxMetadata.Model] = spec.Name,
        [OnnxMetadata.Spec] = SpecPrinter.Print(spec),
        [OnnxMetadata.Classes] = JsonSerializer.Serialize(Enumerable.Range(0, spec.NumClasses).Select(spec.ClassName)),
        [OnnxMetadata.Mean] = JsonSerializer.Serialize(spec.Normalization.Mean),
        [OnnxMetadata.Std] = JsonSerializer.Serialize(spec.Normalization.Std),
        [OnnxMetadata.Palette] = JsonSerializer.Serialize(Palettes.Voc.Take(spec.NumClasses).Select(c => new[] { c.R, c.G, c.B })),
        [OnnxMetadata.PatchSize] = spec.PatchSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        [OnnxMetadata.Flavour] = options.Flavour.ToString().ToLowerInvariant(),
        [OnnxMetadata.Float16] = options.Float16 ? "true" : "false",
        [OnnxMetadata.Int8] = options.Int8 ? "true" : "false",
    };
}
