namespace Segmenter.Tooling.Torchrun;

/// <summary>A written job folder: everything a machine with Python and PyTorch needs to train, no .NET.</summary>
/// <param name="Directory">The folder (<c>OUT/job</c>).</param>
/// <param name="RunScript">run.sh: the exact torchrun line.</param>
/// <param name="ModelFile">model.py: the model as a PyTorch module, emitted from its spec.</param>
/// <param name="ConfigFile">config.json: every resolved option.</param>
/// <param name="SlurmScript">slurm.sbatch: an example for a SLURM cluster.</param>
public sealed record TorchrunJob(string Directory, string RunScript, string ModelFile, string ConfigFile, string SlurmScript);
