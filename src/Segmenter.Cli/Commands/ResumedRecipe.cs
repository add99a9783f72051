using System;
using System.Collections.Generic;
using System.CommandLine;
using System.Globalization;
using Segmenter.Training;

namespace Segmenter.Cli.Commands;

/// <summary>
/// The recipe options of <c>train</c>, resumed or not. Resuming, an option the command line leaves out is the run's own,
/// from its checkpoint (<see cref="RecordedRecipe"/>), so that <c>--resume</c> continues the run as it was started; an
/// option given is used as given, and said where it differs from the run's, except <c>--batch</c>, <c>--accumulate</c>
/// and <c>--seed</c>, which must be the run's own: with another, the data would not continue where the run stopped.
/// </summary>
internal sealed class ResumedRecipe
{
    private readonly ParseResult result;
    private readonly RecordedRecipe? recorded;
    private readonly List<string> taken = new(), changed = new();

    /// <param name="result">The command line.</param>
    /// <param name="recorded">The resumed checkpoint's recipe; null for a run that is not resumed (every option then as the command line has it).</param>
    public ResumedRecipe(ParseResult result, RecordedRecipe? recorded)
    {
        this.result = result;
        this.recorded = recorded;
    }

    /// <summary>The options taken from the run's checkpoint where they differ from the command's defaults, e.g. "--iters 60".</summary>
    public IReadOnlyList<string> Taken => taken;

    /// <summary>The options given that differ from the run's, e.g. "--lr 0.02 (the run's: 0.01)".</summary>
    public IReadOnlyList<string> Changed => changed;

    /// <summary>A whole-number option; <paramref name="fixedForRun"/>: a resume must keep the run's value.</summary>
    public int Whole(Option<int> option, string key, bool fixedForRun = false) =>
        Pick(option, Found(recorded?.Integer(key)), v => v.ToString(CultureInfo.InvariantCulture), fixedForRun);

    /// <summary>A number option.</summary>
    public double Real(Option<double> option, string key) =>
        Pick(option, Found(recorded?.Number(key)), v => v.ToString("G", CultureInfo.InvariantCulture), fixedForRun: false);

    /// <summary>An optional whole number (no value: the command's own default, e.g. the model's image size for --crop).</summary>
    public int? OptionalWhole(Option<int?> option, string key) =>
        Pick(option, recorded?.Integer(key) is { } saved ? (true, saved) : (false, null), v => v?.ToString(CultureInfo.InvariantCulture) ?? "", fixedForRun: false);

    /// <summary>An inference mode (compared as <see cref="Segmenter.Inference.InferenceOptions.ParseMode"/> reads it).</summary>
    public string Mode(Option<string> option, string key)
    {
        string? saved = recorded?.Text(key);
        if (saved is not null && !TryMode(saved)) saved = null;   // not a mode this version knows: the command line's
        return Pick(option, (saved is not null, saved!), v => v, fixedForRun: false, same: (a, b) => TryMode(a) && TryMode(b) &&
            Segmenter.Inference.InferenceOptions.ParseMode(a) == Segmenter.Inference.InferenceOptions.ParseMode(b));
    }

    /// <summary>A recipe value the command line has no option for (the PyTorch engine's --min-lr, --momentum): the run's, or <paramref name="fallback"/>.</summary>
    public double Recorded(string key, string name, double fallback)
    {
        if (recorded?.Number(key) is not { } saved) return fallback;
        if (saved != fallback) taken.Add($"{name} {saved.ToString("G", CultureInfo.InvariantCulture)}");
        return saved;
    }

    private static (bool Has, T Value) Found<T>(T? value) where T : struct => value is { } v ? (true, v) : (false, default);

    private T Pick<T>(Option<T> option, (bool Has, T Value) recordedValue, Func<T, string> format, bool fixedForRun, Func<T, T, bool>? same = null)
    {
        var value = result.GetValue(option)!;
        if (recorded is null || !recordedValue.Has) return value;
        var saved = recordedValue.Value;
        same ??= (a, b) => EqualityComparer<T>.Default.Equals(a, b);
        bool given = result.GetResult(option) is { Implicit: false };
        if (!given)
        {
            if (!same(saved, value)) taken.Add($"{option.Name} {format(saved)}");
            return saved;
        }
        if (same(saved, value)) return value;
        if (fixedForRun)
            throw new ArgumentException($"{recorded.Path} was trained with {option.Name} {format(saved)}, but this run asks for {option.Name} {format(value)}; " +
                                        $"resume with {option.Name} {format(saved)} (or leave it out), or start a new run");
        changed.Add($"{option.Name} {format(value)} (the run's: {format(saved)})");
        return value;
    }

    private static bool TryMode(string text)
    {
        try
        {
            Segmenter.Inference.InferenceOptions.ParseMode(text);
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
