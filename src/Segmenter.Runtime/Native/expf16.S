# The source of TorchExp.Code (src/Segmenter.Runtime/TorchExp.cs). To remake the bytes after a change:
#   gcc -c -o expf16.o expf16.S && objcopy -O binary -j .text expf16.o expf16.bin
# and paste expf16.bin's bytes into TorchExp.Code (expf16 at offset 0, exp_map at TorchExp.MapOffset).
#
# exp(x) on 16 float32 lanes (AVX-512F), System V vector ABI: x in zmm0, exp(x) in zmm0; clobbers zmm1-zmm3.
# n = round(x·log2 e), r = x − n·ln2 (two-part ln2), exp(r) by its Taylor polynomial to r⁷/7! (|r| ≤ ln2/2),
# result = p·2ⁿ by vscalefps (rounds subnormal results, overflows to +inf). x is clamped to [−104, 89] first
# (beyond it the result is 0 or +inf anyway); NaN passes through (max/min return their second source, x, for NaN).
    .text
    .globl expf16
    .globl exp_map
    .p2align 4
expf16:
.Lexp:
    endbr64
    vbroadcastss low(%rip), %zmm1
    vmaxps %zmm0, %zmm1, %zmm0
    vbroadcastss high(%rip), %zmm1
    vminps %zmm0, %zmm1, %zmm0
    vbroadcastss log2e(%rip), %zmm1
    vmulps %zmm1, %zmm0, %zmm1
    vrndscaleps $8, %zmm1, %zmm1
    vbroadcastss ln2hi(%rip), %zmm2
    vfnmadd231ps %zmm2, %zmm1, %zmm0
    vbroadcastss ln2lo(%rip), %zmm2
    vfnmadd231ps %zmm2, %zmm1, %zmm0
    vbroadcastss c7(%rip), %zmm2
    vbroadcastss c6(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vbroadcastss c5(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vbroadcastss c4(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vbroadcastss c3(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vbroadcastss c2(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vbroadcastss one(%rip), %zmm3
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vfmadd213ps %zmm3, %zmm0, %zmm2
    vscalefps %zmm1, %zmm2, %zmm0
    ret
# void exp_map(const float* in, float* out, long count): count a multiple of 16; for tests.
    .p2align 4
exp_map:
    endbr64
    test %rdx, %rdx
    jle 2f
1:  vmovups (%rdi), %zmm0
    call .Lexp
    vmovups %zmm0, (%rsi)
    add $64, %rdi
    add $64, %rsi
    sub $16, %rdx
    jg 1b
2:  vzeroupper
    ret
    .p2align 2
low:   .float -104.0
high:  .float 89.0
log2e: .float 1.44269504088896341
ln2hi: .float 0.693359375
ln2lo: .float -2.12194440e-4
c7:    .float 1.98412698412698413e-4
c6:    .float 1.38888888888888889e-3
c5:    .float 8.33333333333333333e-3
c4:    .float 4.16666666666666667e-2
c3:    .float 1.66666666666666667e-1
c2:    .float 0.5
one:   .float 1.0
    .section .note.GNU-stack,"",@progbits
