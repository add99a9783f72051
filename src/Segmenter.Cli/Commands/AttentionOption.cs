using System.CommandLine;
using Segmenter.Export;

namespace Segmenter.Cli.Commands;

/// <summary><c>--attention batched|per-head</c>: how the portable ONNX graph writes attention (export, bench).</summary>
internal sealed class AttentionOption
{
    public AttentionOption(string description)
    {
        Option = new Option<string?>("--attention") { Description = description };
        Option.AcceptOnlyFromAmong("batched", "per-head");
    }

    public Option<string?> Option { get; }

    /// <summary>The layout asked for; null where the option is not given (the export's default).</summary>
    public OnnxAttention? Read(ParseResult result) => result.GetValue(Option) switch
    {
        "per-head" => OnnxAttention.PerHead,
        "batched" => OnnxAttention.Batched,
        _ => null,
    };
}
