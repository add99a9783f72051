using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;

namespace Segmenter.Training;

/// <summary>
/// Training checkpoints: the project's safetensors format (model weights and spec, loadable anywhere)
/// plus the optimiser's momentum buffers (tensors under "optimizer.momentum_buffer.") and the training
/// state and seed in the metadata. Written atomically: a run killed at any moment leaves the previous checkpoint intact.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Saves the model, the optimiser and <paramref name="state"/>.</summary>
    public static void Save(string path, SegmenterModel model, NesterovSgd optimizer, TrainingState state, TrainingOptions options)
    {
        var metadata = new Dictionary<string, string>
        {
            ["training.iteration"] = state.Iteration.ToString(CultureInfo.InvariantCulture),
            ["training.best_miou"] = state.BestMeanIoU.ToString("R", CultureInfo.InvariantCulture),
            ["training.best_iteration"] = state.BestIteration.ToString(CultureInfo.InvariantCulture),
            ["training.seed"] = options.Seed.ToString(CultureInfo.InvariantCulture),
            ["training.iterations"] = options.Iterations.ToString(CultureInfo.InvariantCulture),
            ["training.batch_size"] = options.BatchSize.ToString(CultureInfo.InvariantCulture),
            ["training.accumulate"] = options.Accumulate.ToString(CultureInfo.InvariantCulture),
        };
        ProjectCheckpoint.Save(model, path, metadata, optimizer.State());
    }

    /// <summary>
    /// Restores the model and optimiser from <paramref name="path"/>; returns the training state and the run's seed.
    /// The batch size and accumulation must be the run's own, or the data order would not continue where it stopped.
    /// </summary>
    public static (TrainingState State, int Seed) Load(string path, SegmenterModel model, NesterovSgd optimizer, TrainingOptions options)
    {
        using var file = CheckpointFile.Read(path);
        if (!ProjectCheckpoint.IsProjectFile(file) || !file.Metadata.ContainsKey("training.iteration"))
            throw new InvalidDataException($"{path}: not a training checkpoint of this project (no training state); use --init to start from weights instead");
        int Integer(string key) =>
            file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new InvalidDataException($"{path}: the training state lacks a whole number under '{key}' (found {(text is null ? "nothing" : $"'{text}'")}); the file is not a complete training checkpoint");
        foreach (var (key, current, option) in new[] { ("training.batch_size", options.BatchSize, "--batch"), ("training.accumulate", options.Accumulate, "--accumulate") })
        {
            int saved = key == "training.accumulate" && !file.Metadata.ContainsKey(key) ? 1 : Integer(key);
            if (saved != current)
                throw new ArgumentException($"{path} was trained with {option} {saved}, but this run asks for {option} {current}; resume with {option} {saved}, or start a new run");
        }
        CheckpointLoader.Load(model, file, new LoadOptions());
        optimizer.Load(file.Tensors, path);
        double best = double.TryParse(file.Metadata.GetValueOrDefault("training.best_miou"), NumberStyles.Float, CultureInfo.InvariantCulture, out var miou) ? miou : double.NaN;
        return (new TrainingState(Integer("training.iteration"), best, Integer("training.best_iteration")), Integer("training.seed"));
    }
}
