using System;

namespace Segmenter.Cli;

/// <summary>A command that ran and could not do what was asked, with a message saying why and what to do.</summary>
internal sealed class CommandFailedException(string message) : Exception(message);
