namespace Segmenter.Runtime.Checkpoints;

/// <summary>A checkpoint that could not be loaded; the model is unchanged. The message holds the whole report.</summary>
public sealed class CheckpointLoadException : System.IO.IOException
{
    /// <summary>Creates the exception.</summary>
    public CheckpointLoadException(LoadReport report)
        : base($"cannot load {report.Path} into the model (the model is unchanged):\n{report}") => Report = report;

    /// <summary>The report of the failed load.</summary>
    public LoadReport Report { get; }
}
