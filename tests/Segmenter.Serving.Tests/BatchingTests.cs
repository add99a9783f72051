using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Segmenter.Runtime;
using Segmenter.Serving;
using Segmenter.Serving.Batching;
using Segmenter.Serving.Client;
using Xunit;
using static TorchSharp.torch;

namespace Segmenter.Tests;

/// <summary>Dynamic batching, the bounded queue, limits, failures, disconnects and shutdown, with a model that counts its batches.</summary>
public sealed class BatchingTests
{
    private static float[] Image(int height, int width, float value) => Enumerable.Repeat(value, 3 * height * width).ToArray();

    [Fact]
    public async Task Concurrent_requests_of_one_size_run_as_batches_with_the_same_results_as_one_by_one()
    {
        var engine = new FakeEngine { Delay = TimeSpan.FromMilliseconds(150) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 4, MaxDelay: TimeSpan.FromMilliseconds(50), MaxQueue: 16) });
        using var client = new InferenceClient(server.Server.Address);

        // One by one first (nothing else waiting: batches of 1), then eight at once.
        var single = new List<float[]>();
        for (int i = 0; i < 3; i++) single.Add((await client.InferAsync("fake", Image(4, 6, i - 1), 1, 4, 6)).Single(o => o.Name == "logits").AsSingles());
        Assert.All(engine.Batches, b => Assert.Equal(1, b));
        engine.Batches.Clear();

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.InferAsync("fake", Image(4, 6, i % 3 - 1), 1, 4, 6)));
        Assert.Contains(engine.Batches, b => b > 1);
        Assert.All(engine.Batches, b => Assert.True(b <= 4));
        Assert.Equal(8, engine.Batches.Sum());
        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(single[i % 3], concurrent[i].Single(o => o.Name == "logits").AsSingles());
            Assert.Equal(Enumerable.Repeat(i % 3 - 1 > 0 ? 2L : 0L, 24), concurrent[i].Single(o => o.Name == "labels").AsIndices());
        }
        var metrics = await server.Http.GetStringAsync("/metrics");
        Assert.Contains("segmenter_batch_size_count", metrics);
    }

    [Fact]
    public async Task Label_only_requests_go_to_an_engine_that_makes_labels_without_logits_and_the_rest_to_its_logits()
    {
        var engine = new FakeEngine { DirectLabels = true };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 4, MaxDelay: TimeSpan.Zero, MaxQueue: 16) });
        using var client = new InferenceClient(server.Server.Address);
        var labelsOnly = await client.InferAsync("fake", Image(4, 6, 1), 1, 4, 6, new[] { "labels" });
        Assert.Equal(1, engine.LabelRuns);
        Assert.Equal(Enumerable.Repeat(2L, 24), labelsOnly.Single().AsIndices());

        var both = await client.InferAsync("fake", Image(4, 6, 1), 1, 4, 6);
        var logitsOnly = await client.InferAsync("fake", Image(4, 6, -1), 1, 4, 6, new[] { "logits" });
        Assert.Equal(1, engine.LabelRuns);   // the logits were asked for: the model made them
        Assert.Equal(3, engine.Batches.Count);
        Assert.Equal(labelsOnly.Single().AsIndices(), both.Single(o => o.Name == "labels").AsIndices());
        Assert.Equal(Enumerable.Range(0, 3).SelectMany(k => Enumerable.Repeat((float)-k, 24)), logitsOnly.Single().AsSingles());
    }

    [Fact]
    public async Task Instances_run_batches_side_by_side_with_the_same_results_as_one()
    {
        // Each run waits for a run on the other instance: with one instance after another every request would time out.
        var meet = new Barrier(2);
        var engines = new[] { new FakeEngine { Meet = meet }, new FakeEngine { Meet = meet } };
        await using var server = SegmentationServer.Create(engines[0].Describe(), engines,
            new ServerOptions { Port = 0, Warmup = (4, 6), LogFormat = "none", Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero, MaxQueue: 8) });
        await server.StartAsync();   // the warm-up sends a batch to each instance, and they meet
        Assert.Equal(new[] { 1, 1 }, engines.Select(e => e.Batches.Count));
        using var client = new InferenceClient(server.Address);
        var answers = await Task.WhenAll(Enumerable.Range(0, 6).Select(i => client.InferAsync("fake", Image(4, 6, i % 3 - 1), 1, 4, 6)));
        Assert.Equal(8, engines.Sum(e => e.Batches.Count));
        Assert.All(engines, e => Assert.True(e.Batches.Count >= 2, "each instance ran requests"));
        for (int i = 0; i < 6; i++)
        {
            var expected = Enumerable.Range(0, 3).SelectMany(k => Enumerable.Repeat((float)(k * (i % 3 - 1)), 24)).ToArray();
            Assert.Equal(expected, answers[i].Single(o => o.Name == "logits").AsSingles());
        }
    }

    [Fact]
    public async Task Idle_instances_share_the_waiting_requests_instead_of_one_taking_them_all_and_only_the_first_keeps_a_share_of_the_cores()
    {
        // Four requests at once and a long batching delay: one instance alone would wait and take all four. Each run waits
        // for a run on the other instance, so the requests are answered only if both take a share.
        var meet = new Barrier(2);
        var engines = new[] { new FakeEngine { Meet = meet }, new FakeEngine { Meet = meet } };
        using var batcher = new DynamicBatcher(engines, new BatchingOptions(MaxBatch: 8, MaxDelay: TimeSpan.FromSeconds(2), MaxQueue: 8) { ModelThreads = ModelThreadPriority.Idle });
        var images = Enumerable.Range(0, 4).Select(i => full(new long[] { 1, 3, 4, 6 }, Scalars.Of((double)i))).ToList();
        var results = await Task.WhenAll(images.Select(i => batcher.RunAsync(i, Outputs.Labels)));
        Assert.All(engines, e => Assert.Single(e.Batches));
        Assert.Equal(4, engines.Sum(e => e.Batches.Sum()));
        if (OperatingSystem.IsLinux())
        {
            // The first instance keeps a share of a busy machine (nice +5); the others yield at once to request threads.
            Assert.Equal(new[] { false }, engines[0].IdlePolicy);
            Assert.Equal(new[] { true }, engines[1].IdlePolicy);
        }
        for (int i = 0; i < 4; i++) Assert.Equal(i > 0 ? 2L : 0L, results[i].Labels!.to(ScalarType.Int64).max().item<long>());
        foreach (var r in results) r.Dispose();
        foreach (var i in images) i.Dispose();
    }

    [Fact]
    public void Instances_of_different_models_are_refused()
    {
        var engines = new IInferenceEngine[] { new FakeEngine(classes: 3), new FakeEngine(classes: 4) };
        var error = Assert.Throws<ArgumentException>(() => new DynamicBatcher(engines, new BatchingOptions(MaxDelay: TimeSpan.Zero)));
        Assert.Contains("disagree on the classes (3, 4)", error.Message);
    }

    [Fact]
    public async Task Requests_of_different_sizes_never_share_a_batch()
    {
        var engine = new FakeEngine { Delay = TimeSpan.FromMilliseconds(100) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 8, MaxDelay: TimeSpan.FromMilliseconds(100), MaxQueue: 16) });
        using var client = new InferenceClient(server.Server.Address);
        var sizes = new[] { (4, 4), (4, 8), (4, 4), (4, 8), (8, 4) };
        var answers = await Task.WhenAll(sizes.Select(s => client.InferAsync("fake", Image(s.Item1, s.Item2, 1), 1, s.Item1, s.Item2, new[] { "labels" })));
        for (int i = 0; i < sizes.Length; i++) Assert.Equal(new long[] { 1, sizes[i].Item1, sizes[i].Item2 }, answers[i][0].Shape);
        Assert.Equal(5, engine.Batches.Sum());
        Assert.True(engine.Batches.Count >= 3, $"batches {string.Join(", ", engine.Batches)}: three sizes need three runs at least");
    }

    [Fact]
    public async Task Past_the_queue_the_server_answers_503_at_once_and_recovers()
    {
        var engine = new FakeEngine { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero, MaxQueue: 2) });
        using var client = new InferenceClient(server.Server.Address);
        var held = Enumerable.Range(0, 2).Select(_ => client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2)).ToList();
        await WaitFor(() => server.Server.Metrics.InFlight.Value == 2);

        var clock = Stopwatch.StartNew();
        for (int i = 0; i < 5; i++)
        {
            using var request = InferenceClient.InferRequest("fake", Image(2, 2, 1), 1, 2, 2);
            using var response = await server.Http.SendAsync(request);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
            Assert.Contains("--max-queue", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetString());
        }
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"five refusals took {clock.Elapsed}");

        engine.Gate.SetResult();
        await Task.WhenAll(held);
        Assert.Equal(0, server.Server.Metrics.InFlight.Value);
        await client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2);
        Assert.Contains("segmenter_errors_total{kind=\"overloaded\"} 5", await server.Http.GetStringAsync("/metrics"));
    }

    /// <summary>
    /// A client that sends its body slowly holds a connection, not a place in the queue: with one place and two uploads
    /// dribbling in, other requests are still answered, and a malformed upload is a 400, not a server failure.
    /// </summary>
    [Fact]
    public async Task Slow_uploads_hold_no_place_in_the_queue()
    {
        var engine = new FakeEngine();
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero, MaxQueue: 1) });
        var address = server.Server.Address;
        var slow = new List<System.Net.Sockets.TcpClient>();
        try
        {
            for (int i = 0; i < 2; i++)
            {
                var connection = new System.Net.Sockets.TcpClient();
                await connection.ConnectAsync(address.Host, address.Port);
                var head = System.Text.Encoding.ASCII.GetBytes(
                    $"POST /v2/models/fake/infer HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{{\"inputs\": [");
                await connection.GetStream().WriteAsync(head);
                slow.Add(connection);
            }
            await Task.Delay(300);   // both are in, their bodies still arriving
            using var client = new InferenceClient(address);
            for (int i = 0; i < 3; i++) await client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2);
            Assert.Equal(0, server.Server.Metrics.InFlight.Value);
        }
        finally
        {
            foreach (var connection in slow) connection.Dispose();
        }

        using var broken = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fake/infer")
        {
            Content = new ByteArrayContent(new byte[] { (byte)'{', (byte)'"', (byte)'i', (byte)'d', (byte)'"', (byte)':', (byte)'"', 0xFF, (byte)'"', (byte)'}' }),
        };
        using var answer = await server.Http.SendAsync(broken);
        Assert.Equal(HttpStatusCode.BadRequest, answer.StatusCode);
        using var form = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fake/segment") { Content = new StringContent("--x\r\nnot a part") };
        form.Content.Headers.ContentType = System.Net.Http.Headers.MediaTypeHeaderValue.Parse("multipart/form-data");   // no boundary
        using var formAnswer = await server.Http.SendAsync(form);
        Assert.Equal(HttpStatusCode.BadRequest, formAnswer.StatusCode);
        Assert.DoesNotContain("segmenter_errors_total{kind=\"internal\"}", await server.Http.GetStringAsync("/metrics"));
    }

    /// <summary>
    /// An open load keeps its schedule whatever the answers: at 4× what a 50 ms model serves, against a queue of 2, it gets
    /// 200s and 503s and nothing else, and every scheduled request is either answered or counted as not sent.
    /// </summary>
    [Fact]
    public async Task An_open_load_keeps_its_schedule_and_overloads_the_server()
    {
        var engine = new FakeEngine { Delay = TimeSpan.FromMilliseconds(50) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero, MaxQueue: 2) });
        var result = await LoadTest.RunAsync(new LoadOptions(server.Server.Address, "fake", Concurrency: 64, Duration: TimeSpan.FromSeconds(2), Height: 4, Width: 4, Rate: 80));
        int answered = result.ByStatus.Values.Sum();
        Assert.Equal(160, answered + result.NotSent + result.TransportErrors);
        Assert.Equal(0, result.Errors);
        Assert.True(result.ByStatus.GetValueOrDefault(200) > 0, "no request was served");
        Assert.True(result.ByStatus.GetValueOrDefault(503) > answered / 3, $"only {result.ByStatus.GetValueOrDefault(503)} of {answered} were refused at 4× capacity");
        Assert.InRange(result.Seconds, 1.9, 10);
        Assert.Equal(80, result.Rate);
        Assert.NotNull(result.ServerRssPeak);
        Assert.True(result.ServerRssPeak >= result.ServerRssBefore);
        await Assert.ThrowsAsync<ArgumentException>(() => LoadTest.RunAsync(new LoadOptions(server.Server.Address, "fake", 4, TimeSpan.FromSeconds(1), 4, 4, Rate: 0)));
    }

    /// <summary>
    /// Image requests are decoded, segmented and encoded one per model instance at a time: with the one instance busy, a
    /// second admitted image waits holding only its bytes, so it has put no window in the batcher's queue.
    /// </summary>
    [Fact]
    public async Task Image_requests_are_worked_on_one_per_instance_at_a_time()
    {
        var engine = new FakeEngine { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 8, MaxDelay: TimeSpan.Zero, MaxQueue: 4) });
        var png = Segmenter.Inference.Imaging.ImageFiles.EncodePng(new Segmenter.Inference.Imaging.RgbImage(32, 32));
        Task<HttpResponseMessage> Post()
        {
            var content = new ByteArrayContent(png);
            content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("image/png");
            return server.Http.PostAsync("/v2/models/fake/segment", content);
        }
        var first = Post();
        await WaitFor(() => engine.Started == 1);
        var second = Post();
        await WaitFor(() => server.Server.Metrics.InFlight.Value == 2);   // both admitted
        await Task.Delay(300);
        Assert.Equal(0, server.Server.Metrics.Queue.Value);   // the second image has sent no window to the model
        Assert.Equal(1, engine.Started);
        engine.Gate.SetResult();
        using var one = await first;
        using var two = await second;
        Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        Assert.Equal(HttpStatusCode.OK, two.StatusCode);
        Assert.Equal(2, engine.Started);
    }

    [Fact]
    public async Task A_client_that_disconnects_frees_its_slot_and_is_never_run()
    {
        var engine = new FakeEngine { Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero, MaxQueue: 4) });
        using var client = new InferenceClient(server.Server.Address);
        var running = client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2);   // holds the model
        await WaitFor(() => engine.Started == 1);   // running, not only admitted: the next request must wait
        using (var leaving = new CancellationTokenSource())
        {
            var gone = client.InferAsync("fake", Image(3, 3, 1), 1, 3, 3, cancellation: leaving.Token);
            await WaitFor(() => server.Server.Metrics.Queue.Value == 1);
            leaving.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gone);
        }
        await WaitFor(() => server.Server.Metrics.InFlight.Value == 1);   // only the running one holds a slot
        engine.Gate.SetResult();
        await running;
        await client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2);
        Assert.DoesNotContain(3L, engine.Heights);   // the 3×3 request never ran
        Assert.Equal(2, engine.Batches.Count);
        await WaitFor(async () => (await server.Http.GetStringAsync("/metrics")).Contains("segmenter_errors_total{kind=\"cancelled\"} 1"));   // counted once
    }

    [Fact]
    public async Task A_request_that_breaks_the_model_is_answered_500_and_its_batch_mates_are_answered()
    {
        var engine = new FakeEngine { Delay = TimeSpan.FromMilliseconds(100) };
        await using var server = await TestServer.Start(engine.Describe(), engine,
            new ServerOptions { Batching = new BatchingOptions(MaxBatch: 4, MaxDelay: TimeSpan.FromMilliseconds(100), MaxQueue: 8) });
        using var client = new InferenceClient(server.Server.Address);
        var calls = new[] { 1f, 42f, 2f }.Select(v => client.InferAsync("fake", Image(2, 2, v), 1, 2, 2)).ToList();
        var failure = await Assert.ThrowsAsync<InferenceServerException>(() => calls[1]);
        Assert.Equal(500, failure.Status);
        Assert.Contains("cannot take 42", failure.Message);
        await calls[0];
        await calls[2];
        await client.InferAsync("fake", Image(2, 2, 3), 1, 2, 2);
        Assert.Contains("segmenter_errors_total{kind=\"model\"} 1", await server.Http.GetStringAsync("/metrics"));   // counted once
    }

    [Fact]
    public async Task Bodies_over_the_limit_are_413_before_they_are_read()
    {
        var engine = new FakeEngine();
        await using var server = await TestServer.Start(engine.Describe(), engine, new ServerOptions { MaxBodyBytes = 64 * 1024 });
        // A declared gigabyte: refused from its Content-Length, without sending it.
        using (var tcp = new System.Net.Sockets.TcpClient())
        {
            await tcp.ConnectAsync(server.Server.Address.Host, server.Server.Address.Port);
            var stream = tcp.GetStream();
            var head = "POST /v2/models/fake/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1073741824\r\n\r\n{\"inputs\":";
            await stream.WriteAsync(System.Text.Encoding.ASCII.GetBytes(head));
            var buffer = new byte[4096];
            int read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            var answer = System.Text.Encoding.UTF8.GetString(buffer, 0, read);
            Assert.StartsWith("HTTP/1.1 413", answer);
            Assert.Contains("1,073,741,824 bytes", answer);
        }
        // A chunked body that grows past the limit.
        var big = new string(' ', 100 * 1024);
        var content = new StreamContent(new System.IO.MemoryStream(System.Text.Encoding.UTF8.GetBytes("{\"inputs\": []" + big + "}")));
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v2/models/fake/infer") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/live")).StatusCode);
    }

    [Fact]
    public async Task An_api_key_guards_everything_but_health_and_the_page()
    {
        var engine = new FakeEngine();
        await using var server = await TestServer.Start(engine.Describe(), engine, new ServerOptions { ApiKey = "s3cret" });
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/v2/health/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/V2/Health/Live")).StatusCode);   // routed regardless of case, and open so too
        using (var head = await server.Http.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/v2/health/ready")))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);   // load balancers check with HEAD
            Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        }
        var missing = await server.Http.GetAsync("/v2/models/fake");
        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal("Bearer", missing.Headers.WwwAuthenticate.Single().Scheme);
        using var wrong = new InferenceClient(server.Server.Address, "guess");
        Assert.Equal(401, (await Assert.ThrowsAsync<InferenceServerException>(() => wrong.InferAsync("fake", Image(2, 2, 1), 1, 2, 2))).Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await server.Http.GetAsync("/metrics")).StatusCode);
        using var right = new InferenceClient(server.Server.Address, "s3cret");
        Assert.Equal(2, (await right.InferAsync("fake", Image(2, 2, 1), 1, 2, 2)).Count);
    }

    [Fact]
    public async Task Shutdown_answers_the_requests_in_flight_and_refuses_new_ones()
    {
        var engine = new FakeEngine { Delay = TimeSpan.FromMilliseconds(800) };
        var server = await TestServer.Start(engine.Describe(), engine, new ServerOptions { Batching = new BatchingOptions(MaxBatch: 1, MaxDelay: TimeSpan.Zero) });
        var address = server.Server.Address;
        using var client = new InferenceClient(address);
        var inFlight = Enumerable.Range(0, 2).Select(_ => client.InferAsync("fake", Image(2, 2, 1), 1, 2, 2)).ToList();
        await WaitFor(() => server.Server.Metrics.InFlight.Value == 2);
        var stopping = server.Server.StopAsync();
        await Task.Delay(200);
        var late = await Record(() => new InferenceClient(address).InferAsync("fake", Image(2, 2, 1), 1, 2, 2));
        Assert.NotNull(late);   // refused: the listener is closed (or 503 while it closes)
        foreach (var call in inFlight) Assert.Equal(2, (await call).Count);
        await stopping;
        await server.DisposeAsync();
        Assert.Equal(2, engine.Batches.Count);
    }

    [Theory]
    [InlineData(16, 0)]
    [InlineData(8, 0)]
    [InlineData(4, 0)]
    [InlineData(0, 0)]   // every vector width, whichever this machine has, and the scalar loop alone
    [InlineData(16, 1)]  // on one thread, as each of several instances takes it
    public void The_argmax_equals_torch_argmax_first_maximum_included(int lanes, int threads)
    {
        manual_seed(5);
        using var logits = randn(2, 7, 33, 65);   // 2,145 pixels: two whole blocks and a part with a remainder below any vector
        using var expected = logits.argmax(1);
        using var labels = Argmax.Labels(logits, lanes, threads);
        Assert.Equal(ScalarType.Byte, labels.dtype);
        Assert.Equal(expected.data<long>().ToArray(), labels.to(ScalarType.Int64).data<long>().ToArray());

        using var ties = zeros(1, 4, 3, 3);
        ties[0, 2, 1, 1] = tensor(1f);
        ties[0, 3, 1, 1] = tensor(1f);
        using var tieLabels = Argmax.Labels(ties, lanes, threads);
        Assert.Equal(2, tieLabels[0, 1, 1].item<byte>());   // the first of equal maxima, as torch
        Assert.Equal(0, tieLabels[0, 0, 0].item<byte>());

        using var many = randn(1, 300, 5, 9);
        using var manyExpected = many.argmax(1);
        using var manyLabels = Argmax.Labels(many, lanes, threads);
        Assert.Equal(ScalarType.Int64, manyLabels.dtype);
        Assert.Equal(manyExpected.data<long>().ToArray(), manyLabels.data<long>().ToArray());
    }

    [Fact]
    public void The_model_thread_runs_at_the_priority_asked_for()
    {
        if (!OperatingSystem.IsLinux()) return;   // SCHED_IDLE and nice are Linux's; elsewhere nothing is changed
        Assert.True(ModelPriority.Create(ModelThreadPriority.Idle, ModelPriority.CurrentThreadIsIdlePolicy));
        Assert.False(ModelPriority.Create(ModelThreadPriority.Low, ModelPriority.CurrentThreadIsIdlePolicy));
        Assert.False(ModelPriority.Create(ModelThreadPriority.Normal, ModelPriority.CurrentThreadIsIdlePolicy));
        Assert.False(ModelPriority.CurrentThreadIsIdlePolicy());
    }

    private static async Task<Exception?> Record(Func<Task> call)
    {
        try
        {
            await call();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static async Task WaitFor(Func<Task<bool>> condition)
    {
        var clock = Stopwatch.StartNew();
        while (!await condition())
        {
            if (clock.Elapsed > TimeSpan.FromSeconds(20)) throw new TimeoutException("the condition did not hold within 20 s");
            await Task.Delay(10);
        }
    }

    private static Task WaitFor(Func<bool> condition) => WaitFor(() => Task.FromResult(condition()));
}
