using System;
using System.Collections.Generic;
using System.Linq;
using Segmenter.Spec;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>
/// Loads checkpoints into generated models: any supported file and key convention, strictly by
/// default, all-or-nothing (everything is checked before anything is copied, so a failed load leaves
/// the model as it was), with a report of what happened.
/// </summary>
public static class CheckpointLoader
{
    /// <summary>Keys that are never weights of a generated model: the reference's unused classifier heads, mmsegmentation's auxiliary head.</summary>
    private static readonly string[] UnusedHeads = { "encoder.head.", "encoder.head_dist.", "encoder.fc_norm.", "encoder.pre_logits.", "auxiliary_head." };

    /// <summary>The prefix of optimiser state in training checkpoints (ignored when loading weights).</summary>
    private const string TrainingStatePrefix = "optimizer.";

    /// <summary>Reads <paramref name="path"/> and loads it into <paramref name="model"/>; throws <see cref="CheckpointLoadException"/> with the report if it does not fit.</summary>
    public static LoadReport Load(SegmenterModel model, string path, LoadOptions? options = null)
    {
        using var file = CheckpointFile.Read(path, MaximumFileBytes(model));
        return Load(model, file, options ?? new LoadOptions());
    }

    /// <summary>
    /// The most bytes a torch file's state dict may claim for <paramref name="model"/>: four times its weights (float64
    /// copies, heads it does not use, views of larger storages) and 256 MB more (an ImageNet-21k classifier head).
    /// </summary>
    public static long MaximumFileBytes(SegmenterModel model) =>
        4 * model.state_dict().Values.Sum(t => t.numel() * t.ElementSize) + (256L << 20);

    /// <summary>
    /// Loads already-read tensors into <paramref name="model"/>. A file of this project's format must hold
    /// weights of a compatible model (its spec metadata is checked first).
    /// </summary>
    public static LoadReport Load(SegmenterModel model, CheckpointFile file, LoadOptions options)
    {
        if (ProjectCheckpoint.IsProjectFile(file))
            ProjectCheckpoint.CheckCompatible(file, model.Specification);
        using var scope = NewDisposeScope();   // mapped, resized and converted copies die here; the model's parameters were made outside
        var convention = KeyConventions.Detect(file.Tensors.Select(t => t.Key));
        var source = KeyConventions.ToReference(file.Tensors, convention);
        var report = new LoadReport { Path = file.Path, Convention = convention };
        if (convention == KeyConvention.Timm && options.AllowMissing.Count == 0)
            options = options with { AllowMissing = new[] { "decoder." } };

        var target = model.state_dict();
        var accepted = new List<(Tensor Target, Tensor Value)>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        bool trainingState = false;
        foreach (var (key, value) in source)
        {
            if (key.StartsWith(TrainingStatePrefix, StringComparison.Ordinal))
            {
                trainingState = true;
                continue;
            }
            if (options.Skip.Any(p => key.StartsWith(p, StringComparison.Ordinal)) || UnusedHeads.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
            {
                report.Skipped.Add(key);
                continue;
            }
            if (!target.TryGetValue(key, out var parameter))
            {
                report.Unexpected.Add(key);
                continue;
            }
            seen.Add(key);
            if (parameter.is_floating_point() && !value.is_floating_point())
                throw new System.IO.InvalidDataException($"{file.Path}: tensor '{key}' is {value.dtype}, but the model's is {parameter.dtype}: weights are floating point, " +
                                                         "so the file is damaged or holds something else (the model is unchanged)");
            var adjusted = key == "encoder.pos_embed" ? ResizePositionEmbedding(value, parameter, model.Specification, report) : value;
            if (!adjusted.shape.SequenceEqual(parameter.shape))
            {
                report.Mismatches.Add(new ShapeMismatch(key, parameter.shape, value.shape));
                continue;
            }
            accepted.Add((parameter, adjusted));
            report.Loaded.Add(key);
            if (adjusted.is_floating_point() && NonFinite(adjusted, parameter.dtype) is var bad and > 0)
                report.NonFinite.Add($"{key} ({bad} of {adjusted.numel()})");
        }

        if (trainingState) report.Notes.Add("a training checkpoint: its optimiser state is not part of the weights and was ignored");
        foreach (var key in target.Keys.Where(k => !seen.Contains(k)))
        {
            report.Missing.Add(key);
            if (!options.AllowMissing.Any(p => key.StartsWith(p, StringComparison.Ordinal)))
                report.MissingNotAllowed.Add(key);
        }
        if (options.AllowUnexpected && report.Unexpected.Count > 0)
        {
            report.Notes.Add($"{report.Unexpected.Count} unexpected keys ignored");
            report.Skipped.AddRange(report.Unexpected);
            report.Unexpected.Clear();
        }
        if (!report.Succeeded) throw new CheckpointLoadException(report);

        using (no_grad())
        {
            foreach (var (parameter, value) in accepted)
                parameter.copy_(value.to(parameter.dtype, parameter.device));
        }
        return report;
    }

    /// <summary>
    /// How many values of <paramref name="tensor"/> are NaN or infinite once in the parameter's type <paramref name="target"/>
    /// (a float64 1e300 is finite, and infinite in float32).
    /// </summary>
    private static long NonFinite(Tensor tensor, ScalarType target)
    {
        using var scope = NewDisposeScope();
        var converted = tensor.dtype == target ? tensor : tensor.to(target);
        return converted.isfinite().logical_not().sum().item<long>();
    }

    /// <summary>A position embedding for another grid, resized to the model's (as the reference does), or the value unchanged if it cannot be.</summary>
    private static Tensor ResizePositionEmbedding(Tensor value, Tensor parameter, SegmenterSpec spec, LoadReport report)
    {
        if (value.dim() != 3 || parameter.dim() != 3 || value.shape[2] != parameter.shape[2] || value.shape[1] == parameter.shape[1])
            return value;
        long extra = spec.ExtraTokens;
        long tokens = value.shape[1] - extra;
        long side = (long)Math.Round(Math.Sqrt(tokens));
        if (tokens <= 0 || side * side != tokens) return value;
        var resized = PositionEmbedding.Resample(value, spec.ExtraTokens, side, side, spec.GridHeight, spec.GridWidth, spec.PositionEmbeddingResize);
        report.Notes.Add($"encoder.pos_embed resized from a {side}×{side} grid to {spec.GridHeight}×{spec.GridWidth} ({spec.PositionEmbeddingResize.ToString().ToLowerInvariant()})");
        return resized;
    }
}
