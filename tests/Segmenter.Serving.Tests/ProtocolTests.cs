using System;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using System.Threading.Tasks;
using Google.Protobuf;
using Segmenter.Export;
using Segmenter.Runtime;
using Segmenter.Serving.Client;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>One server for the protocol's read-only checks: a tiny model (5 classes, patch 8) exported to ONNX.</summary>
public sealed class OnnxServerFixture : IAsyncLifetime
{
    internal TestServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await TestServer.StartOnnx();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>The Open Inference Protocol (KServe v2) as its specification writes the requests: endpoints, fields, shapes, errors.</summary>
public sealed class ProtocolTests : IClassFixture<OnnxServerFixture>
{
    private readonly TestServer server;

    public ProtocolTests(OnnxServerFixture fixture) => server = fixture.Server;

    private HttpClient Http => server.Http;

    private static async Task<JsonElement> Json(HttpResponseMessage response, HttpStatusCode expected)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return JsonDocument.Parse(text).RootElement;
    }

    [Fact]
    public async Task Health_and_server_metadata()
    {
        Assert.True((await Json(await Http.GetAsync("/v2/health/live"), HttpStatusCode.OK)).GetProperty("live").GetBoolean());
        Assert.True((await Json(await Http.GetAsync("/v2/health/ready"), HttpStatusCode.OK)).GetProperty("ready").GetBoolean());
        var metadata = await Json(await Http.GetAsync("/v2"), HttpStatusCode.OK);
        Assert.Equal("segmenter", metadata.GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(metadata.GetProperty("version").GetString()));
        Assert.Contains("binary_tensor_data", metadata.GetProperty("extensions").EnumerateArray().Select(e => e.GetString()));
    }

    [Fact]
    public async Task Model_metadata_names_the_exported_tensors_with_dynamic_dimensions()
    {
        foreach (var path in new[] { "/v2/models/tinylinear", "/v2/models/tinylinear/versions/1" })
        {
            var metadata = await Json(await Http.GetAsync(path), HttpStatusCode.OK);
            Assert.Equal("tinylinear", metadata.GetProperty("name").GetString());
            Assert.Equal(new[] { "1" }, metadata.GetProperty("versions").EnumerateArray().Select(v => v.GetString()));
            Assert.Equal("onnxruntime_onnx", metadata.GetProperty("platform").GetString());
            var input = Assert.Single(metadata.GetProperty("inputs").EnumerateArray());
            Assert.Equal("image", input.GetProperty("name").GetString());
            Assert.Equal("FP32", input.GetProperty("datatype").GetString());
            Assert.Equal(new long[] { -1, 3, -1, -1 }, input.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            var outputs = metadata.GetProperty("outputs").EnumerateArray().ToList();
            Assert.Equal(new[] { "logits", "labels" }, outputs.Select(o => o.GetProperty("name").GetString()));
            Assert.Equal(new[] { "FP32", "UINT8" }, outputs.Select(o => o.GetProperty("datatype").GetString()));
            Assert.Equal(new long[] { -1, 5, -1, -1 }, outputs[0].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
            Assert.Equal(new long[] { -1, -1, -1 }, outputs[1].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        }
        var ready = await Json(await Http.GetAsync("/v2/models/tinylinear/ready"), HttpStatusCode.OK);
        Assert.True(ready.GetProperty("ready").GetBoolean());
        Assert.Equal(HttpStatusCode.OK, (await Http.GetAsync("/v2/models/tinylinear/versions/1/ready")).StatusCode);
        var index = JsonDocument.Parse(await (await Http.PostAsync("/v2/repository/index", TestServer.Json("{}"))).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("tinylinear", index[0].GetProperty("name").GetString());
    }

    [Theory]
    [InlineData("/v2/models/TinyLinear")]            // names match exactly
    [InlineData("/v2/models/tinylinear/versions/2")]
    [InlineData("/v2/models/..%2F..%2Fetc%2Fpasswd")]
    [InlineData("/v2/models/tinylinear/versions/1/../../../x")]
    public async Task Unknown_models_and_versions_are_404_with_an_error_body(string path)
    {
        var error = await Json(await Http.GetAsync(path), HttpStatusCode.NotFound);
        Assert.False(string.IsNullOrEmpty(error.GetProperty("error").GetString()));
    }

    [Fact]
    public async Task Json_inference_equals_the_model_run_directly()
    {
        manual_seed(3);
        using var images = randn(2, 3, 24, 40);
        var values = TensorValues(images);
        var request = $$"""{"id": "r-1", "inputs": [{"name": "image", "shape": [2, 3, 24, 40], "datatype": "FP32", "data": [{{string.Join(",", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture)))}}]}]}""";
        var response = await Json(await Http.PostAsync("/v2/models/tinylinear/infer", TestServer.Json(request)), HttpStatusCode.OK);
        Assert.Equal("tinylinear", response.GetProperty("model_name").GetString());
        Assert.Equal("1", response.GetProperty("model_version").GetString());
        Assert.Equal("r-1", response.GetProperty("id").GetString());
        var outputs = response.GetProperty("outputs").EnumerateArray().ToDictionary(o => o.GetProperty("name").GetString()!);
        Assert.Equal(new long[] { 2, 5, 24, 40 }, outputs["logits"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));
        Assert.Equal("FP32", outputs["logits"].GetProperty("datatype").GetString());
        Assert.Equal(new long[] { 2, 24, 40 }, outputs["labels"].GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()));

        using var expected = Direct(images);
        var logits = outputs["logits"].GetProperty("data").EnumerateArray().Select(v => v.GetSingle()).ToArray();
        Assert.Equal(TensorValues(expected), logits);   // the same session arithmetic, written and read without loss
        using var argmax = expected.argmax(1);
        Assert.Equal(argmax.data<long>().ToArray(), outputs["labels"].GetProperty("data").EnumerateArray().Select(v => (long)v.GetByte()).ToArray());
    }

    [Fact]
    public async Task Nested_data_and_one_named_output()
    {
        var rows = string.Join(",", Enumerable.Range(0, 3).Select(c => "[" + string.Join(",", Enumerable.Range(0, 8).Select(y => "[" + string.Join(",", Enumerable.Range(0, 8).Select(x => $"{(c + y - x) / 10.0}")) + "]")) + "]"));
        var request = $$"""{"inputs": [{"name": "image", "shape": [1, 3, 8, 8], "datatype": "FP32", "data": [[{{rows}}]]}], "outputs": [{"name": "labels"}]}""";
        var response = await Json(await Http.PostAsync("/v2/models/tinylinear/infer", TestServer.Json(request)), HttpStatusCode.OK);
        var output = Assert.Single(response.GetProperty("outputs").EnumerateArray());
        Assert.Equal("labels", output.GetProperty("name").GetString());
        Assert.Equal(64, output.GetProperty("data").GetArrayLength());
    }

    [Fact]
    public async Task Binary_data_both_ways_equals_the_model_run_directly()
    {
        manual_seed(4);
        using var images = randn(1, 3, 16, 16);
        using var client = new InferenceClient(server.Server.Address);
        var outputs = await client.InferAsync("tinylinear", TensorValues(images), 1, 16, 16);
        using var expected = Direct(images);
        Assert.Equal(TensorValues(expected), outputs.Single(o => o.Name == "logits").AsSingles());
        using var argmax = expected.argmax(1);
        Assert.Equal(argmax.data<long>().ToArray(), outputs.Single(o => o.Name == "labels").AsIndices());

        // The response as sent: the JSON header's length, then the raw bytes of the binary outputs.
        using var request = InferenceClient.InferRequest("tinylinear", TensorValues(images), 1, 16, 16, new[] { "labels" });
        using var response = await Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var length = int.Parse(response.Headers.GetValues("Inference-Header-Content-Length").Single());
        var body = await response.Content.ReadAsByteArrayAsync();
        var header = JsonDocument.Parse(body.AsMemory(0, length)).RootElement;
        Assert.Equal(256, header.GetProperty("outputs")[0].GetProperty("parameters").GetProperty("binary_data_size").GetInt32());
        Assert.Equal(length + 256, body.Length);
    }

    public static TheoryData<string, string, string> BadRequests() => new()
    {
        { "malformed JSON", "{\"inputs\": [", "not valid JSON" },
        { "not an object", "[1, 2]", "must be a JSON object" },
        { "no inputs", "{}", "no 'inputs'" },
        { "wrong input name", Request("pixels", "FP32", "[1, 3, 1, 1]", "[0, 0, 0]"), "unknown input 'pixels'" },
        { "wrong datatype", Request("image", "FP64", "[1, 3, 1, 1]", "[0, 0, 0]"), "datatype FP64" },
        { "INT8 datatype", Request("image", "INT8", "[1, 3, 1, 1]", "[0, 0, 0]"), "the model takes FP32" },
        { "three dimensions", Request("image", "FP32", "[3, 2, 2]", "[0,0,0,0,0,0,0,0,0,0,0,0]"), "[batch, 3, height, width]" },
        { "four channels", Request("image", "FP32", "[1, 4, 1, 1]", "[0, 0, 0, 0]"), "[batch, 3, height, width]" },
        { "zero height", Request("image", "FP32", "[1, 3, 0, 4]", "[]"), "at least 1" },
        { "zero batch", Request("image", "FP32", "[0, 3, 4, 4]", "[]"), "at least 1" },
        { "negative width", Request("image", "FP32", "[1, 3, 4, -4]", "[]"), "at least 1" },
        { "huge dimensions", Request("image", "FP32", "[1, 3, 1000000, 1000000]", "[0]"), "--max-pixels" },
        { "overflowing dimensions", Request("image", "FP32", "[1, 3, 9223372036854775807, 9223372036854775807]", "[0]"), "--max-pixels" },
        { "too many values", Request("image", "FP32", "[1, 3, 1, 1]", "[0, 0, 0, 0]"), "has 4 values" },
        { "too few values", Request("image", "FP32", "[1, 3, 2, 2]", "[0, 0, 0]"), "has 3 values" },
        { "strings in data", Request("image", "FP32", "[1, 3, 1, 1]", "[\"a\", 0, 0]"), "numbers only" },
        { "out of FP32 range", Request("image", "FP32", "[1, 3, 1, 1]", "[1e300, 0, 0]"), "outside FP32" },
        { "NaN as a bare word", Request("image", "FP32", "[1, 3, 1, 1]", "[NaN, 0, 0]"), "not valid JSON" },
        { "unknown output", "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 3, 1, 1], \"datatype\": \"FP32\", \"data\": [0, 0, 0]}], \"outputs\": [{\"name\": \"probabilities\"}]}", "unknown output 'probabilities'" },
        { "two inputs", "{\"inputs\": [{\"name\": \"image\", \"shape\": [1, 3, 1, 1], \"datatype\": \"FP32\", \"data\": [0, 0, 0]}, {\"name\": \"image\", \"shape\": [1, 3, 1, 1], \"datatype\": \"FP32\", \"data\": [0, 0, 0]}]}", "2 inputs" },
        { "shape not numbers", Request("image", "FP32", "[\"1\", 3, 1, 1]", "[0, 0, 0]"), "whole numbers" },
        { "too large a batch", Request("image", "FP32", "[9, 3, 1, 1]", "[" + string.Join(",", Enumerable.Repeat("0", 27)) + "]"), "--max-batch" },
        { "nested unlike the shape", Request("image", "FP32", "[1, 3, 2, 1]", "[[[0, 0], [0, 0], [0, 0]]]"), "nested as [1, 3, 2], but its shape is [1, 3, 2, 1]" },
        { "nested unevenly", Request("image", "FP32", "[1, 3, 1, 1]", "[[[0]], [[0, 0]]]"), "nested unevenly" },
        { "numbers beside arrays", Request("image", "FP32", "[1, 3, 1, 1]", "[0, [0, 0]]"), "nested unevenly" },
    };

    private static string Request(string name, string datatype, string shape, string data) =>
        $"{{\"inputs\": [{{\"name\": \"{name}\", \"shape\": {shape}, \"datatype\": \"{datatype}\", \"data\": {data}}}]}}";

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_requests_are_400_with_a_message_and_the_server_stays_up(string what, string body, string message)
    {
        var error = await Json(await Http.PostAsync("/v2/models/tinylinear/infer", TestServer.Json(body)), HttpStatusCode.BadRequest);
        Assert.True(error.GetProperty("error").GetString()!.Contains(message, StringComparison.Ordinal), $"{what}: {error}");
        await AssertStillServes();
    }

    [Fact]
    public async Task Bad_binary_data_is_400()
    {
        var values = new float[3 * 4 * 4];
        var (body, headerLength) = InferenceClient.InferBody(values, 1, 4, 4);

        var truncated = await Send(body.AsSpan(0, body.Length - 10).ToArray(), headerLength);
        Assert.Contains("truncated", truncated);
        var extra = await Send(body.Concat(new byte[7]).ToArray(), headerLength);
        Assert.Contains("bytes after", extra);
        var lyingHeader = await Send(body, body.Length + 5);
        Assert.Contains("Inference-Header-Content-Length", lyingHeader);
        MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength))[5] = float.NaN;
        MemoryMarshal.Cast<byte, float>(body.AsSpan(headerLength))[6] = float.PositiveInfinity;
        var nan = await Send(body, headerLength);
        Assert.Contains("2 NaN or infinite values", nan);
        await AssertStillServes();

        async Task<string> Send(byte[] bytes, int length)
        {
            var content = new ByteArrayContent(bytes);
            content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
            content.Headers.Add("Inference-Header-Content-Length", length.ToString(System.Globalization.CultureInfo.InvariantCulture));
            var error = await Json(await Http.PostAsync("/v2/models/tinylinear/infer", content), HttpStatusCode.BadRequest);
            return error.GetProperty("error").GetString()!;
        }
    }

    [Fact]
    public async Task Wrong_methods_and_paths_have_error_bodies()
    {
        var wrongMethod = await Http.GetAsync("/v2/models/tinylinear/infer");
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Contains("POST", wrongMethod.Content.Headers.Allow);
        await Json(await Http.GetAsync("/v3/anything"), HttpStatusCode.NotFound);
        await Json(await Http.PostAsync("/v2/models/nothing/infer", TestServer.Json("{}")), HttpStatusCode.NotFound);
        await Json(await Http.PostAsync("/foo/infer", TestServer.Json("{}")), HttpStatusCode.NotFound);   // not a model's endpoint at all
    }

    [Fact]
    public async Task Metrics_count_requests_latency_batches_and_errors()
    {
        await AssertStillServes();
        await Http.PostAsync("/v2/models/tinylinear/infer", TestServer.Json("{"));
        var text = await Http.GetStringAsync("/metrics");
        Assert.Contains("segmenter_requests_total{endpoint=\"infer\",code=\"200\"}", text);
        Assert.Contains("segmenter_requests_total{endpoint=\"infer\",code=\"400\"}", text);
        Assert.Contains("segmenter_request_duration_seconds_bucket{endpoint=\"infer\"", text);
        Assert.Contains("segmenter_batch_size_bucket", text);
        Assert.Contains("segmenter_queue_length", text);
        Assert.Contains("segmenter_errors_total{kind=\"bad_request\"}", text);
        Assert.Contains("process_working_set_bytes", text);
    }

    [Fact]
    public async Task Requests_are_logged_with_an_id_that_is_echoed()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v2/models/tinylinear");
        request.Headers.Add("X-Request-Id", "trace-123");
        using var response = await Http.SendAsync(request);
        Assert.Equal("trace-123", response.Headers.GetValues("X-Request-Id").Single());
        await Task.Delay(50);
        lock (server.Log) Assert.Contains(server.Log, line => line.StartsWith("trace-123 GET /v2/models/tinylinear 200", StringComparison.Ordinal));
        using var unnamed = await Http.GetAsync("/v2/health/live");
        Assert.Matches("^[0-9a-f]{16}$", unnamed.Headers.GetValues("X-Request-Id").Single());
    }

    /// <summary>A good request after a bad one is answered.</summary>
    private async Task AssertStillServes()
    {
        var request = Request("image", "FP32", "[1, 3, 2, 2]", "[0,1,2,3,4,5,6,7,8,9,10,11]");
        var response = await Json(await Http.PostAsync("/v2/models/tinylinear/infer", TestServer.Json(request)), HttpStatusCode.OK);
        Assert.Equal(2, response.GetProperty("outputs").GetArrayLength());
    }

    private static float[] TensorValues(Tensor tensor)
    {
        using var flat = tensor.contiguous().flatten();
        return flat.data<float>().ToArray();
    }

    /// <summary>The same model exported and run directly in ONNX Runtime.</summary>
    private static Tensor Direct(Tensor images)
    {
        manual_seed(7);
        using var model = (SegmenterModel)TestModels.Get("TinyLinear").Create(null);
        model.eval();
        using var session = new OnnxSession(OnnxExporter.Export(model).ToByteArray(), new OnnxSessionOptions { Threads = 1 });
        return session.Run(images);
    }
}

/// <summary>The TorchSharp engine behind the same protocol.</summary>
public sealed class TorchEngineTests
{
    [Fact]
    public async Task The_torch_engine_answers_with_the_models_own_logits()
    {
        manual_seed(11);
        var model = (SegmenterModel)TestModels.Get("TinyMask").Create(null);
        model.eval();
        var engine = new Segmenter.Serving.TorchEngine(model, CPU);
        await using var server = await TestServer.Start(new Segmenter.Serving.ModelDescription("tinymask", model.Specification, engine), engine);
        var metadata = JsonDocument.Parse(await server.Http.GetStringAsync("/v2/models/tinymask")).RootElement;
        Assert.Equal("torchsharp", metadata.GetProperty("platform").GetString());

        manual_seed(12);
        using var images = randn(2, 3, 40, 24);
        using var flat = images.flatten();
        using var client = new InferenceClient(server.Server.Address);
        var outputs = await client.InferAsync("tinymask", flat.data<float>().ToArray(), 2, 40, 24);
        using var noGrad = no_grad();
        using var expected = model.Predict(images);
        using var expectedFlat = expected.flatten();
        Assert.Equal(expectedFlat.data<float>().ToArray(), outputs.Single(o => o.Name == "logits").AsSingles());

        // A size that is not a multiple of the patch: the model's logits are a cropped view, answered all the same.
        manual_seed(13);
        using var odd = randn(1, 3, 37, 29);
        using var oddFlat = odd.flatten();
        var oddOutputs = await client.InferAsync("tinymask", oddFlat.data<float>().ToArray(), 1, 37, 29);
        using var oddExpected = model.Predict(odd);
        using var oddExpectedFlat = oddExpected.flatten();
        Assert.Equal(oddExpectedFlat.data<float>().ToArray(), oddOutputs.Single(o => o.Name == "logits").AsSingles());
    }

    [Fact]
    public async Task A_request_whose_attention_would_not_fit_is_413_before_it_runs()
    {
        await using var server = await TestServer.StartOnnx(options: new Segmenter.Serving.ServerOptions { MaxAttentionBytes = 100_000 });
        using var client = new InferenceClient(server.Server.Address);
        await client.InferAsync("tinylinear", new float[3 * 32 * 32], 1, 32, 32);   // 17 tokens: 2 heads × 17² floats
        using var request = InferenceClient.InferRequest("tinylinear", new float[3 * 128 * 128], 1, 128, 128);   // 257 tokens: 528 KB
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString();
        Assert.Contains("257 tokens per image", error);
        Assert.Contains("/segment", error);
    }
}
