#!/usr/bin/env bash
# Where a training step's processor time goes, by kind of work: samples the Release CLI's `bench … --train` with Linux
# perf and sorts the samples taken while the shards ran (from the first to the last sample with a ShardedStep frame on
# its stack) into matrix products, the fused attention outside its products, the fused loss, element-wise kernels, page
# clearing and the rest (by library). A developer's tool (docs/performance.md has figures from it); it needs perf and root or
# perf_event_paranoid ≤ 1.
#
#   build/profile-step.sh                       # bench SegT16 --train --iters 10 --warmup 2
#   build/profile-step.sh SegB16 --train --iters 3 --warmup 1
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cli="$root/src/Segmenter.Cli/bin/Release/net10.0/segmenter"
command -v perf > /dev/null || { echo "perf is not installed (Debian: apt-get install linux-perf)" >&2; exit 1; }
[ -x "$cli" ] || { echo "no Release CLI at $cli: run dotnet build src/Segmenter.Cli -c Release first" >&2; exit 1; }
[ $# -gt 0 ] || set -- SegT16 --train --iters 10 --warmup 2
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# Managed frames need the runtime's symbol map, written where perf looks for it, and code that is not double-mapped.
DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0 \
    perf record -q -F 999 -g -o "$work/perf.data" -- "$cli" bench "$@" --json > "$work/bench.json"
tr -d ' \n' < "$work/bench.json" | grep -o '"latencyMedianMs":[0-9.]*\|"peakFraction":[0-9.]*\|"isa":\[[^]]*\]' | tr '\n' ' '
echo
perf script -i "$work/perf.data" -F tid,time,ip,sym,dso 2> /dev/null | awk '
BEGIN { RS = ""; FS = "\n" }
{
    split($1, head, " "); t = head[2] + 0
    if ($0 ~ /ShardedStep::Shard/) { if (!first) first = t; last = t }
    n++; at[n] = t; self = $2; sub(/^[ \t]*[0-9a-f]+ /, "", self); leaf[n] = self
    caller = $3; sub(/^[ \t]*[0-9a-f]+ /, "", caller); parent[n] = caller
}
END {
    if (!first) { print "no sample had a ShardedStep frame: was this a training bench (--train)?"; exit 1 }
    for (i = 1; i <= n; i++) {
        if (at[i] < first || at[i] > last) continue
        s = leaf[i]; total++
        if (s ~ /mkl_blas|mkl_serv|omp_parallel_acopy/) kind = "matrix products (MKL)"
        else if (s ~ /clear_page|folio_zero|do_anonymous|handle_mm_fault/) kind = "page clearing (freshly mapped memory)"
        else if (s ~ /UpsampledCrossEntropy/) kind = "fused upsampled cross-entropy (the project'"'"'s kernel)"
        else if (s ~ /flash_attention|Sleef_/) kind = "fused attention outside its products (softmax, exponentials)"
        else if (s ~ /LayerNorm|RowwiseMoments/) kind = "LayerNorm"
        else if (s ~ /callback_fn|VectorizedLoop|serial_for_each|cpu_kernel/) kind = "element-wise kernels (add, copy, fill, mul)"
        else if (s ~ /unknown/ && parent[i] ~ /dnnl/) kind = "oneDNN generated code (GELU, patch-embedding convolution)"
        else if (s ~ /libgomp/) kind = "OpenMP threads"
        else if (s ~ /NesterovSgd/) kind = "optimizer"
        else {
            kind = "other (runtime, allocator, dispatch, kernel)"
            library = s; sub(/.*\(/, "", library); sub(/\).*/, "", library); sub(/.*\//, "", library)
            if (library ~ /^perf-/) library = "code without a symbol"
            other[library]++
        }
        count[kind]++
    }
    printf "%.1f s from the first shard sample to the last, %d samples over all cores\n", last - first, total
    for (kind in count) printf "%5.1f %%  %s\n", 100 * count[kind] / total, kind | "sort -rn"
    close("sort -rn")
    print "the other samples, by library (libtorch_cpu: dispatch and autograd; kernel.kallsyms: the kernel; libcoreclr: .NET):"
    for (library in other) if (100 * other[library] / total >= 0.1) printf "%5.1f %%  %s\n", 100 * other[library] / total, library | "sort -rn"
}'
