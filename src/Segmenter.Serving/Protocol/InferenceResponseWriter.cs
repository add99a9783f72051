using System;
using System.Buffers;
using System.Collections.Generic;
using System.IO;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Http;
using Segmenter.Serving.Batching;
using static TorchSharp.torch;

namespace Segmenter.Serving.Protocol;

/// <summary>
/// Writes an inference response: JSON with each output's data, or — for outputs asked for as binary — a JSON header
/// (its length in <c>Inference-Header-Content-Length</c>) followed by the raw little-endian tensors in output order.
/// </summary>
internal static class InferenceResponseWriter
{
    /// <summary>The header that carries the JSON part's length when binary data follows.</summary>
    public const string HeaderLength = "Inference-Header-Content-Length";

    private const int Chunk = 1 << 16;

    public static async Task WriteAsync(HttpResponse response, ModelDescription model, InferenceRequest request, BatchResult result, CancellationToken cancellation)
    {
        var tensors = new List<(RequestedOutput Output, TensorDescription Description, Tensor Tensor)>();
        foreach (var output in request.Outputs)
        {
            var tensor = output.Name == "logits" ? result.Logits! : result.Labels!;
            tensors.Add((output, model.Output(output.Name), tensor));
            if (!output.Binary && output.Name == "logits" && HasNonFinite(tensor))
                throw new ModelFailedException("the logits hold NaN or infinite values, which JSON cannot carry (the weights are not finite?); ask for binary data to see them",
                    new InvalidDataException("non-finite logits"));
        }

        bool anyBinary = tensors.Exists(t => t.Output.Binary);
        var header = new ArrayBufferWriter<byte>(anyBinary ? 1024 : Chunk * 2);
        using (var json = new Utf8JsonWriter(header, SegmentationServer.JsonOptions))
        {
            json.WriteStartObject();
            json.WriteString("model_name", model.Name);
            json.WriteString("model_version", model.Version);
            if (request.Id is not null) json.WriteString("id", request.Id);
            json.WriteStartArray("outputs");
            if (!anyBinary)
            {
                // All JSON: stream it, flushing as it grows (a 512² logits tensor of 150 classes is 39 million numbers).
                response.ContentType = "application/json";
                foreach (var (output, description, tensor) in tensors)
                {
                    WriteDescription(json, description, tensor);
                    json.WriteStartArray("data");
                    for (long start = 0; start < tensor.numel(); start += Chunk)
                    {
                        WriteValues(json, tensor, start, (int)Math.Min(Chunk, tensor.numel() - start));
                        json.Flush();
                        await response.Body.WriteAsync(header.WrittenMemory, cancellation);
                        header.ResetWrittenCount();
                    }
                    json.WriteEndArray();
                    json.WriteEndObject();
                }
                json.WriteEndArray();
                json.WriteEndObject();
                json.Flush();
                await response.Body.WriteAsync(header.WrittenMemory, cancellation);
                return;
            }
            foreach (var (output, description, tensor) in tensors)
            {
                WriteDescription(json, description, tensor);
                if (output.Binary)
                {
                    json.WriteStartObject("parameters");
                    json.WriteNumber("binary_data_size", tensor.numel() * tensor.element_size());
                    json.WriteEndObject();
                }
                else
                {
                    json.WriteStartArray("data");
                    WriteValues(json, tensor, 0, (int)tensor.numel());
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        response.ContentType = "application/octet-stream";
        response.Headers[HeaderLength] = header.WrittenCount.ToString(System.Globalization.CultureInfo.InvariantCulture);
        long length = header.WrittenCount;
        foreach (var t in tensors) if (t.Output.Binary) length += t.Tensor.numel() * t.Tensor.element_size();
        response.ContentLength = length;
        await response.Body.WriteAsync(header.WrittenMemory, cancellation);
        foreach (var (output, _, tensor) in tensors)
        {
            if (!output.Binary) continue;
            var bytes = TensorSpans.Bytes(tensor);
            for (long start = 0; start < bytes.Length; start += 1 << 20)
                await response.Body.WriteAsync(bytes.Slice((int)start, (int)Math.Min(1 << 20, bytes.Length - start)), cancellation);
        }
    }

    private static void WriteDescription(Utf8JsonWriter json, TensorDescription description, Tensor tensor)
    {
        json.WriteStartObject();
        json.WriteString("name", description.Name);
        json.WriteString("datatype", description.Datatype);
        json.WriteStartArray("shape");
        foreach (var d in tensor.shape) json.WriteNumberValue(d);
        json.WriteEndArray();
    }

    private static void WriteValues(Utf8JsonWriter json, Tensor tensor, long start, int count)
    {
        switch (tensor.dtype)
        {
            case ScalarType.Float32:
                foreach (var v in TensorSpans.Of<float>(tensor).Slice((int)start, count)) json.WriteNumberValue(v);
                break;
            case ScalarType.Byte:
                foreach (var v in TensorSpans.Of<byte>(tensor).Slice((int)start, count)) json.WriteNumberValue(v);
                break;
            case ScalarType.Int64:
                foreach (var v in TensorSpans.Of<long>(tensor).Slice((int)start, count)) json.WriteNumberValue(v);
                break;
            default:
                throw new InvalidOperationException($"no protocol datatype for {tensor.dtype}");
        }
    }

    private static bool HasNonFinite(Tensor tensor)
    {
        foreach (var v in TensorSpans.Of<float>(tensor)) if (!float.IsFinite(v)) return true;
        return false;
    }
}
