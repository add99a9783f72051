using System;

namespace Segmenter.Training;

/// <summary>
/// Training that could not go on, for a reason the user can act on: the loss became non-finite (a learning rate too
/// high, broken data), or the output folder holds a run that starting afresh would replace. The message says what
/// happened and what to do; nothing already written is lost.
/// </summary>
public sealed class TrainingStoppedException(string message) : Exception(message);
