using System;
using Segmenter.Runtime;
using Segmenter.Runtime.Checkpoints;

namespace Segmenter.Tooling;

/// <summary>
/// The one way tools get a model: resolve the model argument, create the network (seeded if asked),
/// load its checkpoint with the strict loader, and move it to the device. Every command goes through it,
/// so they all accept the same arguments and apply the same defaults.
/// </summary>
public static class ModelLoader
{
    /// <summary>Loads what <paramref name="request"/> asks for; throws with an actionable message when it cannot.</summary>
    public static LoadedModel Load(ModelRequest request) => Load(ModelResolver.Resolve(request.Model), request);

    /// <summary>Loads <paramref name="entry"/>, already resolved from <see cref="ModelRequest.Model"/>, as <paramref name="request"/> says.</summary>
    public static LoadedModel Load(ModelEntry entry, ModelRequest request)
    {
        var device = Devices.Parse(request.Device);
        var checkpoint = request.Checkpoint ?? (request.UseVariantCheckpoint ? ModelResolver.DefaultCheckpoint(request.Model) : null);
        if (checkpoint is null && request.CheckpointRequired)
            throw new ArgumentException($"no checkpoint: give --checkpoint path (a .pth or .safetensors file) for {entry.Name}");

        if (request.Seed is { } seed) TorchSharp.torch.manual_seed(seed);
        var model = entry.Create(null);
        try
        {
            LoadReport? report = null;
            if (checkpoint is not null)
            {
                var options = request.EncoderOnly
                    ? LoadOptions.EncoderOnly
                    : new LoadOptions { AllowMissing = request.AllowMissing, Skip = request.Skip };
                report = CheckpointLoader.Load(model, checkpoint, options);
            }
            if (device.type != TorchSharp.DeviceType.CPU) TorchSharp.ModuleExtensionMethods.to(model, device);
            return new LoadedModel(entry, model, device, checkpoint, report);
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }
}
