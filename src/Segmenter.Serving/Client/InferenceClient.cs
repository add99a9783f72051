using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;

namespace Segmenter.Serving.Client;

/// <summary>One output of an inference response: its name, datatype, shape and raw little-endian bytes.</summary>
public sealed record OutputTensor(string Name, string Datatype, long[] Shape, byte[] Data)
{
    /// <summary>The values as FP32.</summary>
    public float[] AsSingles() => Datatype == "FP32" ? MemoryMarshal.Cast<byte, float>(Data).ToArray() : throw new InvalidOperationException($"{Name} is {Datatype}, not FP32");

    /// <summary>The values as class indices (UINT8 or INT64).</summary>
    public long[] AsIndices() => Datatype switch
    {
        "UINT8" => Data.Select(b => (long)b).ToArray(),
        "INT64" => MemoryMarshal.Cast<byte, long>(Data).ToArray(),
        _ => throw new InvalidOperationException($"{Name} is {Datatype}, not UINT8 or INT64"),
    };
}

/// <summary>A failed call: the HTTP status and the server's error message.</summary>
public sealed class InferenceServerException : Exception
{
    /// <summary>A failure with the status and message the server gave.</summary>
    public InferenceServerException(int status, string message) : base($"{status}: {message}") => Status = status;

    /// <summary>The HTTP status code.</summary>
    public int Status { get; }
}

/// <summary>
/// A client of the Open Inference Protocol over HTTP (this server, Triton, KServe): metadata and inference, sending the
/// image as binary tensor data and asking for binary outputs, as Triton's own clients do for large tensors.
/// </summary>
public sealed class InferenceClient : IDisposable
{
    private readonly HttpClient http;

    /// <summary>A client of the server at <paramref name="server"/>, with a bearer key when the server asks for one.</summary>
    public InferenceClient(Uri server, string? apiKey = null, int connections = 16)
    {
        http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = Math.Max(1, connections), PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
        {
            BaseAddress = server,
            Timeout = TimeSpan.FromMinutes(5),
        };
        if (apiKey is not null) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
    }

    /// <summary>The names of the models the server holds (Triton's repository index: POST /v2/repository/index).</summary>
    public async Task<IReadOnlyList<string>> ModelsAsync(CancellationToken cancellation = default)
    {
        using var response = await http.PostAsync("v2/repository/index", new StringContent("{}", Encoding.UTF8, "application/json"), cancellation);
        await ThrowUnlessSuccess(response, cancellation);
        using var document = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellation));
        return document.RootElement.EnumerateArray().Select(m => m.GetProperty("name").GetString()!).ToList();
    }

    /// <summary>The model's metadata (GET /v2/models/{model}) as JSON.</summary>
    public async Task<JsonDocument> MetadataAsync(string model, CancellationToken cancellation = default)
    {
        using var response = await http.GetAsync($"v2/models/{Uri.EscapeDataString(model)}", cancellation);
        await ThrowUnlessSuccess(response, cancellation);
        return JsonDocument.Parse(await response.Content.ReadAsStreamAsync(cancellation));
    }

    /// <summary>
    /// Runs <paramref name="images"/> (normalised, [batch, 3, height, width] row-major) and returns the outputs asked for
    /// (all the model's when none are named), as binary data both ways.
    /// </summary>
    public async Task<IReadOnlyList<OutputTensor>> InferAsync(string model, ReadOnlyMemory<float> images, int batch, int height, int width,
        IReadOnlyList<string>? outputs = null, CancellationToken cancellation = default)
    {
        using var request = InferRequest(model, images, batch, height, width, outputs);
        using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellation);
        await ThrowUnlessSuccess(response, cancellation);
        var body = await response.Content.ReadAsByteArrayAsync(cancellation);
        int headerLength = response.Headers.TryGetValues("Inference-Header-Content-Length", out var values) || response.Content.Headers.TryGetValues("Inference-Header-Content-Length", out values)
            ? int.Parse(values.First(), CultureInfo.InvariantCulture) : body.Length;
        return ReadOutputs(body, headerLength);
    }

    /// <summary>The HTTP request for an inference (binary input; binary outputs).</summary>
    public static HttpRequestMessage InferRequest(string model, ReadOnlyMemory<float> images, int batch, int height, int width, IReadOnlyList<string>? outputs = null)
    {
        var (body, headerLength) = InferBody(images, batch, height, width, outputs);
        return InferRequest(model, body, headerLength);
    }

    /// <summary>An inference request over a body made by <see cref="InferBody"/> (not copied: a load test sends one body many times).</summary>
    public static HttpRequestMessage InferRequest(string model, byte[] body, int headerLength)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        content.Headers.Add("Inference-Header-Content-Length", headerLength.ToString(CultureInfo.InvariantCulture));
        var request = new HttpRequestMessage(HttpMethod.Post, $"v2/models/{Uri.EscapeDataString(model)}/infer") { Content = content };
        // As curl does for bodies over 1 MB: the headers first, the body once the server takes the request, so a refusal
        // (503 when its queue is full, 413, 401) costs no upload. Under normal load it made no measurable difference here.
        if (body.Length > LargeBody) request.Headers.ExpectContinue = true;
        return request;
    }

    /// <summary>Bodies above this size are sent with <c>Expect: 100-continue</c>.</summary>
    public const int LargeBody = 1 << 20;

    /// <summary>The body of an inference request: the JSON header, then the images as binary data; and the header's length.</summary>
    public static (byte[] Body, int HeaderLength) InferBody(ReadOnlyMemory<float> images, int batch, int height, int width, IReadOnlyList<string>? outputs = null)
    {
        long expected = (long)batch * 3 * height * width;
        if (images.Length != expected) throw new ArgumentException($"[{batch}, 3, {height}, {width}] needs {expected} values, got {images.Length}");
        var header = new MemoryStream();
        using (var json = new Utf8JsonWriter(header))
        {
            json.WriteStartObject();
            json.WriteStartArray("inputs");
            json.WriteStartObject();
            json.WriteString("name", "image");
            json.WriteString("datatype", "FP32");
            json.WriteStartArray("shape");
            foreach (var d in new long[] { batch, 3, height, width }) json.WriteNumberValue(d);
            json.WriteEndArray();
            json.WriteStartObject("parameters");
            json.WriteNumber("binary_data_size", expected * sizeof(float));
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndArray();
            if (outputs is not null)
            {
                json.WriteStartArray("outputs");
                foreach (var name in outputs)
                {
                    json.WriteStartObject();
                    json.WriteString("name", name);
                    json.WriteStartObject("parameters");
                    json.WriteBoolean("binary_data", true);
                    json.WriteEndObject();
                    json.WriteEndObject();
                }
                json.WriteEndArray();
            }
            else
            {
                json.WriteStartObject("parameters");
                json.WriteBoolean("binary_data_output", true);
                json.WriteEndObject();
            }
            json.WriteEndObject();
        }
        var body = new byte[header.Length + expected * sizeof(float)];
        header.ToArray().CopyTo(body, 0);
        MemoryMarshal.AsBytes(images.Span).CopyTo(body.AsSpan((int)header.Length));
        return (body, (int)header.Length);
    }

    /// <summary>The outputs of a response body whose first <paramref name="headerLength"/> bytes are JSON.</summary>
    public static IReadOnlyList<OutputTensor> ReadOutputs(byte[] body, int headerLength)
    {
        using var document = JsonDocument.Parse(body.AsMemory(0, headerLength));
        var outputs = new List<OutputTensor>();
        int offset = headerLength;
        foreach (var output in document.RootElement.GetProperty("outputs").EnumerateArray())
        {
            var name = output.GetProperty("name").GetString()!;
            var datatype = output.GetProperty("datatype").GetString()!;
            var shape = output.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            byte[] data;
            if (output.TryGetProperty("parameters", out var parameters) && parameters.TryGetProperty("binary_data_size", out var size))
            {
                data = body.AsSpan(offset, size.GetInt32()).ToArray();
                offset += data.Length;
            }
            else
            {
                var values = output.GetProperty("data").EnumerateArray();
                data = datatype switch
                {
                    "FP32" => MemoryMarshal.AsBytes(values.Select(v => v.GetSingle()).ToArray().AsSpan()).ToArray(),
                    "UINT8" => values.Select(v => v.GetByte()).ToArray(),
                    "INT64" => MemoryMarshal.AsBytes(values.Select(v => v.GetInt64()).ToArray().AsSpan()).ToArray(),
                    _ => throw new InvalidDataException($"output {name} has datatype {datatype}, which this client does not read"),
                };
            }
            outputs.Add(new OutputTensor(name, datatype, shape, data));
        }
        return outputs;
    }

    /// <summary>The server process's resident memory from its /metrics (prometheus-net's process_working_set_bytes, which is VmRSS on Linux), or null.</summary>
    public async Task<long?> ServerMemoryAsync(CancellationToken cancellation = default)
    {
        try
        {
            var text = await http.GetStringAsync("metrics", cancellation);
            var line = text.Split('\n').FirstOrDefault(l => l.StartsWith("process_working_set_bytes ", StringComparison.Ordinal));
            return line is null ? null : (long)double.Parse(line.Split(' ')[1], CultureInfo.InvariantCulture);
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>Sends a prepared request (the load generator reuses one body).</summary>
    internal Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellation) =>
        http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellation);

    private static async Task ThrowUnlessSuccess(HttpResponseMessage response, CancellationToken cancellation)
    {
        if (response.IsSuccessStatusCode) return;
        var text = await response.Content.ReadAsStringAsync(cancellation);
        string message = text;
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.TryGetProperty("error", out var error)) message = error.GetString() ?? text;
        }
        catch (JsonException)
        {
        }
        throw new InferenceServerException((int)response.StatusCode, message);
    }

    /// <inheritdoc />
    public void Dispose() => http.Dispose();
}
