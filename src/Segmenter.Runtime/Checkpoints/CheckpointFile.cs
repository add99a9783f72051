using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using static TorchSharp.torch;

namespace Segmenter.Runtime.Checkpoints;

/// <summary>
/// The tensors of a checkpoint file, as stored (keys not yet mapped); disposing it frees them.
/// </summary>
/// <param name="Path">The file.</param>
/// <param name="Tensors">Every tensor of the state dict, in file order where the format keeps one.</param>
/// <param name="Metadata">safetensors metadata (empty for torch files).</param>
public sealed record CheckpointFile(string Path, IReadOnlyList<KeyValuePair<string, Tensor>> Tensors, IReadOnlyDictionary<string, string> Metadata) : IDisposable
{
    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var (_, tensor) in Tensors) tensor.Dispose();
    }

    /// <summary>
    /// Reads a checkpoint: a torch zip holding a state dict directly or under "model" (the reference's
    /// training checkpoints) or "state_dict" (mmsegmentation), or a safetensors file. The "module." and "_orig_mod." prefixes that
    /// (Distributed)DataParallel and torch.compile put on every key are removed. Errors name the file and say what was expected.
    /// A torch file whose state dict claims more than <paramref name="maximumBytes"/> (when given) is refused before any
    /// storage is inflated: its compressed entries could otherwise expand a thousandfold in memory.
    /// </summary>
    public static CheckpointFile Read(string path, long? maximumBytes = null)
    {
        if (!File.Exists(path)) throw new FileNotFoundException($"checkpoint '{path}' does not exist", path);
        var start = new byte[8];
        using (var stream = File.OpenRead(path)) _ = stream.Read(start, 0, start.Length);

        if (start[0] == (byte)'P' && start[1] == (byte)'K')
            return ReadTorch(path, maximumBytes);
        if (SafeTensors.LooksLikeSafeTensors(path))
        {
            var file = SafeTensors.Read(path);
            return new CheckpointFile(path, StripModulePrefix(file.Tensors), file.Metadata);
        }
        if (start[0] == 0x80 && start[1] <= 5)
            throw new InvalidDataException($"{path}: a PyTorch checkpoint in the legacy (pre-1.6, non-zip) format, which cannot be read here; " +
                                           "re-save it with torch.save(obj, path) from PyTorch ≥ 1.6, or convert it to safetensors");
        throw new InvalidDataException($"{path}: not a checkpoint: expected a torch.save zip file (.pth/.pt) or a safetensors file");
    }

    private static CheckpointFile ReadTorch(string path, long? maximumBytes)
    {
        using var stream = File.OpenRead(path);
        return new CheckpointFile(path, StripModulePrefix(TorchArchive.ReadStateDict(stream, path, maximumBytes)), new Dictionary<string, string>());
    }

    /// <summary>The prefixes wrappers add to every key: DataParallel's and DistributedDataParallel's, and torch.compile's.</summary>
    private static readonly string[] WrapperPrefixes = { "module.", "_orig_mod." };

    /// <summary>The keys without the prefixes that wrap every one of them, in any order and nesting (DDP of a compiled model, …).</summary>
    private static IReadOnlyList<KeyValuePair<string, Tensor>> StripModulePrefix(IReadOnlyList<KeyValuePair<string, Tensor>> tensors)
    {
        while (tensors.Count > 0 && WrapperPrefixes.FirstOrDefault(p => tensors.All(t => t.Key.StartsWith(p, StringComparison.Ordinal))) is { } prefix)
            tensors = tensors.Select(t => new KeyValuePair<string, Tensor>(t.Key.Substring(prefix.Length), t.Value)).ToList();
        return tensors;
    }
}
