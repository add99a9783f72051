using System;
using System.IO;

namespace Segmenter.Training.Data;

/// <summary>A sample that could not be used: which file, and why.</summary>
public sealed class DatasetException : IOException
{
    /// <summary>Creates the exception.</summary>
    public DatasetException(string message, Exception? inner = null) : base(message, inner) { }
}
