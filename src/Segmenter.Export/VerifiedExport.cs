using System;
using System.IO;
using System.Linq;
using Segmenter.Runtime;

namespace Segmenter.Export;

/// <summary>
/// Export with the project's guarantee: the graph is built, then checked in ONNX Runtime against the model
/// from memory, and only a graph that passes is written (atomically). A failed check writes nothing and
/// replaces nothing, neither the .onnx file nor the Triton entry.
/// </summary>
public static class VerifiedExport
{
    /// <summary>Exports <paramref name="model"/> (in eval mode) as <paramref name="request"/> says; throws <see cref="ExportCheckException"/> if the check fails.</summary>
    public static ExportResult Run(SegmenterModel model, ExportRequest request)
    {
        if (request.OutputPath is null && request.TritonRepository is null)
            throw new ArgumentException("give an output file (--out model.onnx), a Triton repository (--triton DIR), or both");
        var spec = model.Specification;
        var tritonName = request.TritonName ?? TritonRepository.SuggestName(spec.Name);
        if (request.TritonRepository is not null) TritonRepository.Validate(tritonName, request.Triton);   // before the export and its check

        const int stages = ExportVerification.Runs + 2;
        request.Progress?.Invoke(0, stages, "building the graph");
        var proto = OnnxExporter.Export(model, request.Options);
        var tolerance = request.Tolerance ?? ExportVerification.DefaultTolerance(request.Options);
        request.Progress?.Invoke(1, stages, "checking in ONNX Runtime");
        var runs = ExportVerification.Run(model, proto, onRun: run => request.Progress?.Invoke(1 + run, stages, run < ExportVerification.Runs ? "checking in ONNX Runtime" : "writing"));
        var worst = runs.Max(r => r.MaxAbsoluteDifference);
        if (request.Options.Int8)
        {
            double agreement = runs.Min(r => r.LabelAgreement);
            if (!(agreement >= request.MinimumAgreement))
                throw new ExportCheckException(
                    $"the int8 graph's classes agree with the float32 model's on {100 * agreement:F2} % of the pixels, below the {100 * request.MinimumAgreement:F1} % asked for, " +
                    "so nothing was written; check the model's accuracy with 'segmenter eval --onnx' on real data, or lower --min-agreement",
                    1 - agreement, 1 - request.MinimumAgreement, toleranceGiven: true);
        }
        else if (!(worst <= tolerance))
        {
            var advice = request.Tolerance is not null
                ? "the tolerance was given with --tolerance: raise it if the difference is acceptable"
                : request.Options.Float16
                    ? "float16 rounding can exceed it for some models and inputs; raise it with --tolerance if the difference is acceptable"
                    : "this is a bug: please report it with the spec";
            throw new ExportCheckException(
                $"the exported graph differs from the model by {worst:0.00E+0}, above the tolerance {tolerance:0.00E+0}, so nothing was written; {advice}",
                worst, tolerance, request.Tolerance is not null);
        }

        if (request.OutputPath is not null) OnnxExporter.Save(proto, request.OutputPath, request.ExternalData);
        string? entry = null;
        if (request.TritonRepository is not null)
            entry = TritonRepository.Write(request.TritonRepository, tritonName, proto, spec.NumClasses, request.Options.Labels, request.Triton, request.ExternalData);
        request.Progress?.Invoke(stages, stages, "written");
        var file = request.OutputPath ?? Path.Combine(request.TritonRepository!, tritonName, "1", "model.onnx");
        return new ExportResult(proto, runs, tolerance, file, entry);
    }
}
