using System.Collections.Generic;
using System.Globalization;
using System.IO;
using Segmenter.Runtime.Checkpoints;

namespace Segmenter.Training;

/// <summary>
/// The recipe a training checkpoint records under "training.*" in its metadata (both engines write and read the same
/// keys): what a resumed run continues with where its command line does not say otherwise, so that
/// <c>train … --resume</c> goes on with the run's own steps, learning rate and crop rather than the command's defaults.
/// Checkpoints written before a key existed simply lack it.
/// </summary>
public sealed class RecordedRecipe
{
    /// <summary>The metadata keys, as the PyTorch engine's checkpoint.py writes them too.</summary>
    public const string Iterations = "training.iterations", BatchSize = "training.batch_size", Accumulate = "training.accumulate",
        Seed = "training.seed", LearningRate = "training.lr", MinimumLearningRate = "training.min_lr", Momentum = "training.momentum",
        WeightDecay = "training.weight_decay", CropSize = "training.crop", EvaluateEvery = "training.eval_every",
        EvaluationMode = "training.eval_mode", LogEvery = "training.log_every", CheckpointEvery = "training.checkpoint_every";

    private readonly IReadOnlyDictionary<string, string> metadata;

    private RecordedRecipe(string path, IReadOnlyDictionary<string, string> metadata)
    {
        Path = path;
        this.metadata = metadata;
    }

    /// <summary>The checkpoint the recipe was read from.</summary>
    public string Path { get; }

    /// <summary>
    /// The recipe of the training checkpoint at <paramref name="path"/>, from its header alone; an
    /// <see cref="InvalidDataException"/> when the file is not a training checkpoint of this project.
    /// </summary>
    public static RecordedRecipe Read(string path)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"nothing to resume: {path} does not exist", path);
        var metadata = SafeTensors.LooksLikeSafeTensors(path) ? SafeTensors.ReadMetadata(path) : new Dictionary<string, string>();
        RequireTrainingState(path, metadata);
        return new RecordedRecipe(path, metadata);
    }

    /// <summary>Throws unless <paramref name="metadata"/> is a training checkpoint's of this project (which <see cref="TrainingCheckpoint"/> writes).</summary>
    internal static void RequireTrainingState(string path, IReadOnlyDictionary<string, string> metadata)
    {
        if (!ProjectCheckpoint.IsProjectMetadata(metadata) || !metadata.ContainsKey("training.iteration"))
            throw new InvalidDataException($"{path}: not a training checkpoint of this project (no training state); use --init to start from weights instead");
    }

    /// <summary>The whole number recorded under <paramref name="key"/>, or null when the checkpoint has none there; an <see cref="InvalidDataException"/> when it holds something else.</summary>
    public int? Integer(string key) =>
        metadata.TryGetValue(key, out var text)
            ? int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) ? value : throw Unreadable(key, text, "a whole number")
            : null;

    /// <summary>The finite number recorded under <paramref name="key"/>, or null when the checkpoint has none there; an <see cref="InvalidDataException"/> when it holds something else.</summary>
    public double? Number(string key) =>
        metadata.TryGetValue(key, out var text)
            ? double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && double.IsFinite(value) ? value : throw Unreadable(key, text, "a finite number")
            : null;

    private InvalidDataException Unreadable(string key, string text, string expected) =>
        new($"{Path}: the recipe's '{key}' is '{text}', not {expected}: the file is damaged, so the run's recipe cannot be continued");

    /// <summary>The text recorded under <paramref name="key"/>, or null.</summary>
    public string? Text(string key) => metadata.TryGetValue(key, out var text) && text.Length > 0 ? text : null;

    /// <summary>The metadata that records <paramref name="options"/>' recipe.</summary>
    internal static Dictionary<string, string> Of(TrainingOptions options)
    {
        static string Whole(int value) => value.ToString(CultureInfo.InvariantCulture);
        static string Real(double value) => value.ToString("R", CultureInfo.InvariantCulture);
        var recipe = new Dictionary<string, string>
        {
            [Seed] = Whole(options.Seed), [Iterations] = Whole(options.Iterations), [BatchSize] = Whole(options.BatchSize),
            [Accumulate] = Whole(options.Accumulate), [LearningRate] = Real(options.LearningRate),
            [MinimumLearningRate] = Real(options.MinimumLearningRate), [Momentum] = Real(options.Momentum),
            [WeightDecay] = Real(options.WeightDecay), [CropSize] = Whole(options.CropSize), [EvaluateEvery] = Whole(options.EvaluateEvery),
            [LogEvery] = Whole(options.LogEvery), [CheckpointEvery] = Whole(options.CheckpointEvery),
        };
        if (options.Evaluation is { } evaluation) recipe[EvaluationMode] = evaluation.Mode.ToString().ToLowerInvariant();
        return recipe;
    }
}
