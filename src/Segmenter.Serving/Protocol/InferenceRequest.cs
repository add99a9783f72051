using System;
using System.Buffers;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using static TorchSharp.torch;

namespace Segmenter.Serving.Protocol;

/// <summary>An output a request asks for, and whether as binary data (the binary tensor data extension).</summary>
public sealed record RequestedOutput(string Name, bool Binary);

/// <summary>
/// An inference request of the Open Inference Protocol (KServe v2): JSON, or JSON followed by binary tensor data
/// (Triton's binary data extension: the JSON's length in the <c>Inference-Header-Content-Length</c> header, each
/// binary input's size in its <c>binary_data_size</c> parameter). Parsed strictly against the model's one input.
/// </summary>
public sealed class InferenceRequest : IDisposable
{
    private InferenceRequest(string? id, Tensor images, IReadOnlyList<RequestedOutput> outputs)
    {
        Id = id;
        Images = images;
        Outputs = outputs;
    }

    /// <summary>The request's id, echoed in the response.</summary>
    public string? Id { get; }

    /// <summary>The input images [B, 3, H, W], float32.</summary>
    public Tensor Images { get; }

    /// <summary>The outputs to return, in order.</summary>
    public IReadOnlyList<RequestedOutput> Outputs { get; }

    /// <inheritdoc />
    public void Dispose() => Images.Dispose();

    /// <summary>
    /// Parses <paramref name="body"/>; <paramref name="headerLength"/> is the JSON part's length when binary data follows.
    /// Throws <see cref="ProtocolException"/> (400) naming what is wrong.
    /// </summary>
    public static InferenceRequest Parse(ReadOnlySpan<byte> body, int? headerLength, ModelDescription model, long maxPixels, int maxBatch)
    {
        if (headerLength is { } length && (length < 0 || length > body.Length))
            throw ProtocolException.BadRequest($"Inference-Header-Content-Length is {length}, but the body is {body.Length} bytes");
        var json = body[..(headerLength ?? body.Length)];
        var binary = body[json.Length..];
        var raw = ReadJson(json);
        try
        {
            var input = raw.Inputs.Count switch
            {
                0 => throw ProtocolException.BadRequest($"the request has no inputs: the model takes one, '{model.Input.Name}' ({model.Input.Datatype} {model.Input.ShapeText})"),
                1 => raw.Inputs[0],
                _ => throw ProtocolException.BadRequest($"the request has {raw.Inputs.Count} inputs ({string.Join(", ", raw.Inputs.Select(i => $"'{i.Name}'"))}): the model takes one, '{model.Input.Name}'"),
            };
            if (input.Name != model.Input.Name)
                throw ProtocolException.BadRequest($"unknown input '{input.Name}': the model's input is '{model.Input.Name}' ({model.Input.Datatype} {model.Input.ShapeText})");
            if (input.Datatype != model.Input.Datatype)
                throw ProtocolException.BadRequest($"input '{input.Name}' has datatype {input.Datatype ?? "(none)"}: the model takes {model.Input.Datatype}");
            var shape = CheckShape(input, model, maxPixels, maxBatch);
            long elements = shape.Aggregate(1L, (a, b) => a * b);

            var images = empty(shape, float32);
            try
            {
                var target = TensorSpans.Of<float>(images);
                if (input.BinarySize is { } size)
                {
                    if (input.Data is not null) throw ProtocolException.BadRequest($"input '{input.Name}' has both 'data' and a binary_data_size: give one");
                    if (size != elements * sizeof(float))
                        throw ProtocolException.BadRequest($"input '{input.Name}' has binary_data_size {size}, but shape [{string.Join(", ", shape)}] of {input.Datatype} needs {elements * sizeof(float)} bytes");
                    if (binary.Length != size)
                        throw ProtocolException.BadRequest(binary.Length < size
                            ? $"the binary data of input '{input.Name}' is truncated: {size} bytes announced, {binary.Length} after the {json.Length}-byte JSON header"
                            : $"the body holds {binary.Length} bytes after the {json.Length}-byte JSON header, but the inputs announce {size}");
                    MemoryMarshal.Cast<byte, float>(binary).CopyTo(target);
                }
                else
                {
                    if (headerLength is not null && binary.Length > 0)
                        throw ProtocolException.BadRequest($"the body holds {binary.Length} bytes after the JSON header, but no input has a binary_data_size");
                    var data = input.Data ?? throw ProtocolException.BadRequest($"input '{input.Name}' has no 'data' (or binary_data_size parameter)");
                    if (data.Count != elements)
                        throw ProtocolException.BadRequest($"input '{input.Name}' has {data.Count} values, but shape [{string.Join(", ", shape)}] needs {elements}");
                    if (input.Nesting is { } nesting && !nesting.SequenceEqual(shape))
                        throw ProtocolException.BadRequest($"the 'data' of input '{input.Name}' is nested as [{string.Join(", ", nesting)}], but its shape is [{string.Join(", ", shape)}]: nest it as the shape says, or send it flat");
                    data.Span.CopyTo(target);
                }
                int bad = CountNonFinite(target);
                if (bad > 0) throw ProtocolException.BadRequest($"input '{input.Name}' holds {bad} NaN or infinite values: the model's outputs there would be meaningless");
                return new InferenceRequest(raw.Id, images, ChooseOutputs(raw, model));
            }
            catch
            {
                images.Dispose();
                throw;
            }
        }
        finally
        {
            foreach (var i in raw.Inputs) i.Data?.Dispose();
        }
    }

    private static long[] CheckShape(RawInput input, ModelDescription model, long maxPixels, int maxBatch)
    {
        var shape = input.Shape ?? throw ProtocolException.BadRequest($"input '{input.Name}' has no shape: give [batch, 3, height, width]");
        string text = $"[{string.Join(", ", shape)}]";
        if (shape.Length != 4 || shape[1] != 3)
            throw ProtocolException.BadRequest($"input '{input.Name}' has shape {text}: the model takes [batch, 3, height, width] ({model.Input.ShapeText})");
        if (shape.Any(d => d < 1))
            throw ProtocolException.BadRequest($"input '{input.Name}' has shape {text}: every dimension must be at least 1");
        if (shape[0] > maxBatch)
            throw ProtocolException.BadRequest($"input '{input.Name}' has a batch of {shape[0]}: the server takes at most {maxBatch} images per request (--max-batch)");
        if (shape[2] > maxPixels || shape[3] > maxPixels || shape[0] * shape[2] * shape[3] > maxPixels)
            throw ProtocolException.BadRequest($"input '{input.Name}' has shape {text}: at most {maxPixels.ToString("N0", CultureInfo.InvariantCulture)} pixels (batch × height × width) are taken per request (--max-pixels)");
        if (model.StaticSize is { } fixedSize && (shape[2] != fixedSize.Height || shape[3] != fixedSize.Width))
            throw ProtocolException.BadRequest($"input '{input.Name}' has shape {text}: this model was exported for {fixedSize.Height}×{fixedSize.Width} images only ({model.Input.ShapeText})");
        return shape;
    }

    private static IReadOnlyList<RequestedOutput> ChooseOutputs(RawRequest raw, ModelDescription model)
    {
        if (raw.Outputs.Count == 0) return model.Outputs.Select(o => new RequestedOutput(o.Name, raw.BinaryOutput)).ToList();
        var known = model.Outputs.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var output in raw.Outputs)
        {
            if (!known.Contains(output.Name))
                throw ProtocolException.BadRequest($"unknown output '{output.Name}': the model's outputs are {string.Join(", ", model.Outputs.Select(o => $"'{o.Name}'"))}");
        }
        var repeated = raw.Outputs.GroupBy(o => o.Name).FirstOrDefault(g => g.Count() > 1);
        if (repeated is not null) throw ProtocolException.BadRequest($"output '{repeated.Key}' is asked for twice");
        // binary_data_output may come before or after the outputs: an output without a binary_data of its own takes it.
        return raw.Outputs.Select(o => new RequestedOutput(o.Name, o.Binary ?? raw.BinaryOutput)).ToList();
    }

    private static int CountNonFinite(ReadOnlySpan<float> values)
    {
        int bad = 0;
        foreach (var v in values)
        {
            if (!float.IsFinite(v)) bad++;
        }
        return bad;
    }

    private sealed class RawRequest
    {
        public string? Id;
        public bool BinaryOutput;
        public List<RawInput> Inputs { get; } = new();
        public List<(string Name, bool? Binary)> Outputs { get; } = new();
    }

    private sealed class RawInput
    {
        public string Name = "";
        public string? Datatype;
        public long[]? Shape;
        public long? BinarySize;
        public FloatBuffer? Data;

        /// <summary>The nesting of 'data' when it is nested (each level's array length), null when flat.</summary>
        public long[]? Nesting;
    }

    private static RawRequest ReadJson(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        var request = new RawRequest();
        try
        {
            Read(ref reader);
            if (reader.TokenType != JsonTokenType.StartObject) throw ProtocolException.BadRequest("the request must be a JSON object");
            bool sawInputs = false;
            while (Read(ref reader) == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                Read(ref reader);
                switch (property)
                {
                    case "id":
                        request.Id = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw ProtocolException.BadRequest("'id' must be a string");
                        break;
                    case "parameters":
                        StartObject(ref reader, "the request's 'parameters'");
                        while (Read(ref reader) == JsonTokenType.PropertyName)
                        {
                            var name = reader.GetString();
                            Read(ref reader);
                            if (name == "binary_data_output") request.BinaryOutput = Bool(ref reader, name);
                            else reader.Skip();
                        }
                        break;
                    case "inputs":
                        sawInputs = true;
                        StartArray(ref reader, "'inputs'");
                        while (Read(ref reader) != JsonTokenType.EndArray) request.Inputs.Add(ReadInput(ref reader));
                        break;
                    case "outputs":
                        StartArray(ref reader, "'outputs'");
                        while (Read(ref reader) != JsonTokenType.EndArray) request.Outputs.Add(ReadOutput(ref reader));
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (reader.Read()) throw ProtocolException.BadRequest("the request has more after its JSON object");
            if (!sawInputs) throw ProtocolException.BadRequest("the request has no 'inputs'");
            return request;
        }
        catch (Exception e)
        {
            foreach (var i in request.Inputs) i.Data?.Dispose();
            if (e is JsonException) throw ProtocolException.BadRequest($"the request is not valid JSON: {e.Message}");
            // A JSON string that is not UTF-8 text passes the reader and fails when it is read as a string.
            if (e is InvalidOperationException && e.InnerException is System.Text.DecoderFallbackException or null && e.Message.Contains("UTF-8", StringComparison.Ordinal))
                throw ProtocolException.BadRequest($"the request is not valid JSON: {e.Message}");
            throw;
        }
    }

    private static RawInput ReadInput(ref Utf8JsonReader reader)
    {
        StartObject(ref reader, "each of 'inputs'");
        var input = new RawInput();
        try
        {
            bool named = false;
            while (Read(ref reader) == JsonTokenType.PropertyName)
            {
                var property = reader.GetString();
                Read(ref reader);
                switch (property)
                {
                    case "name":
                        input.Name = String(ref reader, "an input's 'name'");
                        named = true;
                        break;
                    case "datatype":
                        input.Datatype = String(ref reader, "an input's 'datatype'");
                        break;
                    case "shape":
                        StartArray(ref reader, "an input's 'shape'");
                        var dims = new List<long>();
                        while (Read(ref reader) != JsonTokenType.EndArray)
                        {
                            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dim))
                                throw ProtocolException.BadRequest("an input's 'shape' must be an array of whole numbers");
                            if (dims.Count == 16) throw ProtocolException.BadRequest("an input's 'shape' has more than 16 dimensions");
                            dims.Add(dim);
                        }
                        input.Shape = dims.ToArray();
                        break;
                    case "parameters":
                        StartObject(ref reader, "an input's 'parameters'");
                        while (Read(ref reader) == JsonTokenType.PropertyName)
                        {
                            var name = reader.GetString();
                            Read(ref reader);
                            if (name == "binary_data_size")
                            {
                                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var size) || size < 0)
                                    throw ProtocolException.BadRequest("binary_data_size must be a whole number of bytes ≥ 0");
                                input.BinarySize = size;
                            }
                            else reader.Skip();
                        }
                        break;
                    case "data":
                        if (input.Data is not null) throw ProtocolException.BadRequest("an input has 'data' twice");
                        input.Data = new FloatBuffer();
                        input.Nesting = ReadData(ref reader, input.Data, input.Name);
                        break;
                    default:
                        reader.Skip();
                        break;
                }
            }
            if (!named) throw ProtocolException.BadRequest("an input has no 'name'");
            return input;
        }
        catch
        {
            input.Data?.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The values of 'data': numbers, flat or nested in arrays (row-major), as the protocol allows. Nested data must be
    /// regular (every array of a level as long, numbers at the deepest level only); its nesting is returned to be checked
    /// against the input's shape (null when the data is flat).
    /// </summary>
    private static long[]? ReadData(ref Utf8JsonReader reader, FloatBuffer data, string name)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw ProtocolException.BadRequest($"the 'data' of input '{name}' must be an array of numbers");
        var lengths = new List<long> { -1 };   // each level's array length once one has closed
        var counts = new Stack<long>();
        counts.Push(0);
        int leafDepth = 0;
        while (counts.Count > 0)
        {
            switch (Read(ref reader))
            {
                case JsonTokenType.Number:
                    if (!reader.TryGetSingle(out var value) || !float.IsFinite(value))
                        throw ProtocolException.BadRequest($"the 'data' of input '{name}' holds a number outside FP32's range");
                    if (leafDepth == 0) leafDepth = counts.Count;
                    else if (leafDepth != counts.Count) throw Ragged(name);
                    counts.Push(counts.Pop() + 1);
                    data.Add(value);
                    if (data.Count > MaximumValues) throw ProtocolException.TooLarge($"the 'data' of input '{name}' holds more than {MaximumValues:N0} values");
                    break;
                case JsonTokenType.StartArray:
                    if (leafDepth != 0 && counts.Count >= leafDepth) throw Ragged(name);
                    counts.Push(counts.Pop() + 1);
                    counts.Push(0);
                    if (lengths.Count < counts.Count) lengths.Add(-1);
                    break;
                case JsonTokenType.EndArray:
                    int level = counts.Count - 1;
                    long length = counts.Pop();
                    if (lengths[level] == -1) lengths[level] = length;
                    else if (lengths[level] != length) throw Ragged(name);
                    break;
                default:
                    throw ProtocolException.BadRequest($"the 'data' of input '{name}' must hold numbers only (found {reader.TokenType})");
            }
        }
        return lengths.Count > 1 ? lengths.ToArray() : null;
    }

    private static ProtocolException Ragged(string name) =>
        ProtocolException.BadRequest($"the 'data' of input '{name}' is nested unevenly: nested data must follow the input's shape (arrays of one level all as long, numbers only at the deepest), or be flat");

    /// <summary>The most values one request's JSON data may hold (the largest span a tensor is read through).</summary>
    private const int MaximumValues = 1 << 30;

    private static (string Name, bool? Binary) ReadOutput(ref Utf8JsonReader reader)
    {
        StartObject(ref reader, "each of 'outputs'");
        string? name = null;
        bool? binary = null;
        while (Read(ref reader) == JsonTokenType.PropertyName)
        {
            var property = reader.GetString();
            Read(ref reader);
            if (property == "name") name = String(ref reader, "an output's 'name'");
            else if (property == "parameters")
            {
                StartObject(ref reader, "an output's 'parameters'");
                while (Read(ref reader) == JsonTokenType.PropertyName)
                {
                    var parameter = reader.GetString();
                    Read(ref reader);
                    if (parameter == "binary_data") binary = Bool(ref reader, "binary_data");
                    else if (parameter == "classification") throw ProtocolException.BadRequest("the classification extension is not supported: ask for 'labels', the per-pixel class");
                    else reader.Skip();
                }
            }
            else reader.Skip();
        }
        return (name ?? throw ProtocolException.BadRequest("an output has no 'name'"), binary);
    }

    private static JsonTokenType Read(ref Utf8JsonReader reader)
    {
        if (!reader.Read()) throw ProtocolException.BadRequest("the request's JSON ends too early");
        return reader.TokenType;
    }

    private static void StartObject(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartObject) throw ProtocolException.BadRequest($"{what} must be a JSON object");
    }

    private static void StartArray(ref Utf8JsonReader reader, string what)
    {
        if (reader.TokenType != JsonTokenType.StartArray) throw ProtocolException.BadRequest($"{what} must be a JSON array");
    }

    private static string String(ref Utf8JsonReader reader, string what) =>
        reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw ProtocolException.BadRequest($"{what} must be a string");

    private static bool Bool(ref Utf8JsonReader reader, string what) => reader.TokenType switch
    {
        JsonTokenType.True => true,
        JsonTokenType.False => false,
        _ => throw ProtocolException.BadRequest($"{what} must be true or false"),
    };

    /// <summary>A growing buffer of floats from the shared pool (a 512² image is 786,432 values).</summary>
    private sealed class FloatBuffer : IDisposable
    {
        private float[] values = ArrayPool<float>.Shared.Rent(1 << 16);

        public int Count { get; private set; }

        public ReadOnlySpan<float> Span => values.AsSpan(0, Count);

        public void Add(float value)
        {
            if (Count == values.Length)
            {
                var larger = ArrayPool<float>.Shared.Rent(values.Length * 2);
                values.AsSpan(0, Count).CopyTo(larger);
                ArrayPool<float>.Shared.Return(values);
                values = larger;
            }
            values[Count++] = value;
        }

        public void Dispose()
        {
            ArrayPool<float>.Shared.Return(values);
            values = Array.Empty<float>();
        }
    }
}
