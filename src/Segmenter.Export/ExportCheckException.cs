using System;

namespace Segmenter.Export;

/// <summary>An exported graph that differs from its model by more than the tolerance; nothing was written.</summary>
public sealed class ExportCheckException : Exception
{
    /// <summary>Creates the exception.</summary>
    public ExportCheckException(string message, double difference, double tolerance, bool toleranceGiven) : base(message)
    {
        Difference = difference;
        Tolerance = tolerance;
        ToleranceGiven = toleranceGiven;
    }

    /// <summary>The largest difference measured.</summary>
    public double Difference { get; }

    /// <summary>The tolerance it exceeded.</summary>
    public double Tolerance { get; }

    /// <summary>True when the tolerance was the caller's, not the default: exceeding it is then not a bug.</summary>
    public bool ToleranceGiven { get; }
}
