using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;

namespace Segmenter.Training;

/// <summary>
/// Training checkpoints: the project's safetensors format (model weights and spec, loadable anywhere)
/// plus the optimiser's momentum buffers (tensors under "optimizer.momentum_buffer.") and the training
/// state and recipe (<see cref="RecordedRecipe"/>) in the metadata. Written atomically: a run killed at any moment leaves the previous checkpoint intact.
/// </summary>
public static class TrainingCheckpoint
{
    /// <summary>Saves the model, the optimiser and <paramref name="state"/>.</summary>
    public static void Save(string path, SegmenterModel model, NesterovSgd optimizer, TrainingState state, TrainingOptions options)
    {
        var metadata = RecordedRecipe.Of(options);   // the recipe, which a resume continues with
        metadata["training.iteration"] = state.Iteration.ToString(CultureInfo.InvariantCulture);
        metadata["training.best_miou"] = state.BestMeanIoU.ToString("R", CultureInfo.InvariantCulture);
        metadata["training.best_iteration"] = state.BestIteration.ToString(CultureInfo.InvariantCulture);
        ProjectCheckpoint.Save(model, path, metadata, optimizer.State());
    }

    /// <summary>
    /// Restores the model and optimiser from <paramref name="path"/>; returns the training state and the run's seed.
    /// The batch size and accumulation must be the run's own, or the data order would not continue where it stopped.
    /// </summary>
    public static (TrainingState State, int Seed) Load(string path, SegmenterModel model, NesterovSgd optimizer, TrainingOptions options)
    {
        using var file = CheckpointFile.Read(path, CheckpointLoader.MaximumFileBytes(model));
        RecordedRecipe.RequireTrainingState(path, file.Metadata);
        int Integer(string key) =>
            file.Metadata.TryGetValue(key, out var text) && int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value)
                ? value
                : throw new InvalidDataException($"{path}: the training state lacks a whole number under '{key}' (found {(text is null ? "nothing" : $"'{text}'")}); the file is not a complete training checkpoint");
        foreach (var (key, current, option) in new[] { (RecordedRecipe.BatchSize, options.BatchSize, "--batch"), (RecordedRecipe.Accumulate, options.Accumulate, "--accumulate") })
        {
            int saved = key == RecordedRecipe.Accumulate && !file.Metadata.ContainsKey(key) ? 1 : Integer(key);
            if (saved != current)
                throw new ArgumentException($"{path} was trained with {option} {saved}, but this run asks for {option} {current}; resume with {option} {saved}, or start a new run");
        }
        var report = CheckpointLoader.Load(model, file, new LoadOptions());
        if (report.NonFinite.Count > 0)
            throw new InvalidDataException($"{path}: {report.NonFinite.Count} of the {report.Loaded.Count} tensors hold NaN or infinite values " +
                                           $"({string.Join(", ", report.NonFinite.Take(3))}{(report.NonFinite.Count > 3 ? ", …" : "")}); " +
                                           "a run never saves them, so it cannot continue from this file: resume from an earlier checkpoint");
        optimizer.Load(file.Tensors, path);
        double best = double.TryParse(file.Metadata.GetValueOrDefault("training.best_miou"), NumberStyles.Float, CultureInfo.InvariantCulture, out var miou) ? miou : double.NaN;
        int iteration = Integer("training.iteration");
        if (iteration < 0) throw new InvalidDataException($"{path}: its training state says step {iteration}; a run's step is 0 or more, so the file is damaged");
        return (new TrainingState(iteration, best, Integer("training.best_iteration")), Integer(RecordedRecipe.Seed));
    }
}
