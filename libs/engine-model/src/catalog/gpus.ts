import Type, { type Static } from 'typebox';

/**
 * One accelerator type as the latency and memory models see it.
 *
 * Throughput figures are the vendor's *dense* tensor-core peaks (no 2:4 sparsity) for the 16-bit type vLLM
 * runs the model in (BF16, or FP16 where the GPU has no BF16), and the vendor's HBM/GDDR bandwidth. Memory is
 * what `nvidia-smi` reports as total (MiB), which is what vLLM's memory profiler starts from.
 */
export const GpuSpec = Type.Object({
  id: Type.String({ minLength: 1 }),
  name: Type.String(),
  /** Total device memory in MiB as reported by nvidia-smi. */
  memoryMiB: Type.Number({ exclusiveMinimum: 0 }),
  /** Peak memory bandwidth, GB/s (10^9 bytes per second). */
  memoryBandwidthGBs: Type.Number({ exclusiveMinimum: 0 }),
  /** Peak dense 16-bit tensor throughput, TFLOP/s (10^12). */
  peakTflops16: Type.Number({ exclusiveMinimum: 0 }),
  /** Whether the GPU computes in BF16; without it vLLM runs BF16 checkpoints in FP16 (same byte size). */
  bf16: Type.Boolean(),
  /** GPU-to-GPU link used by tensor-parallel all-reduce. */
  interconnect: Type.Object({
    kind: Type.Union([Type.Literal('nvlink'), Type.Literal('pcie')]),
    /** Per-direction bandwidth of one GPU's link, GB/s. */
    bandwidthGBs: Type.Number({ exclusiveMinimum: 0 }),
    /** Fixed cost of one small all-reduce, µs (launch + synchronisation). */
    latencyUs: Type.Number({ minimum: 0 }),
  }),
  /** Indicative on-demand price of one GPU, USD per hour; see `priceSource`. Override for real budgets. */
  hourlyUsd: Type.Number({ minimum: 0 }),
  priceSource: Type.String(),
  /** Per-GPU corrections to the global efficiency factors, set only where a published measurement supports them. */
  efficiency: Type.Optional(
    Type.Object({
      gemm: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
      memory: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
    }),
  ),
});
export type GpuSpec = Static<typeof GpuSpec>;

const MiB = 1;

/**
 * The GPU catalogue. Sources (vendor datasheets unless noted):
 * - A10: NVIDIA A10 datasheet — 24 GB GDDR6, 600 GB/s, BF16 tensor 125 TFLOPS (250 with sparsity), PCIe Gen4
 *   x16 (64 GB/s both directions), no NVLink.
 * - L4: NVIDIA L4 datasheet — 24 GB GDDR6, 300 GB/s, BF16 tensor 121 TFLOPS dense (242 sparse), PCIe Gen4.
 * - L20: NVIDIA L20 datasheet (China SKU) — 48 GB GDDR6, 864 GB/s, FP16/BF16 tensor 119.5 TFLOPS dense (239
 *   sparse), PCIe Gen4 x16.
 * - L40S: NVIDIA L40S datasheet — 48 GB GDDR6, 864 GB/s, BF16 tensor 362.05 TFLOPS dense (733 sparse), PCIe
 *   Gen4 x16.
 * - V100: NVIDIA V100 datasheet (SXM2 32 GB) — 900 GB/s HBM2, FP16 tensor 125 TFLOPS, NVLink 2 300 GB/s total
 *   (150 GB/s per direction). Volta has no BF16: vLLM runs FP16.
 * - A100-40GB / A100-80GB (SXM) / A100-80GB-PCIe: NVIDIA A100 datasheet — HBM2e 1,555 / 2,039 / 1,935 GB/s,
 *   BF16 tensor 312 TFLOPS dense (624 sparse); NVLink 3 600 GB/s total on SXM; PCIe Gen4 on the PCIe card.
 * - H100: NVIDIA H100 datasheet (SXM5) — 80 GB HBM3, 3.35 TB/s, BF16 tensor 989 TFLOPS dense (1,979 sparse),
 *   NVLink 4 900 GB/s total.
 * - H200: NVIDIA H200 datasheet (SXM) — 141 GB HBM3e, 4.8 TB/s, BF16 tensor 989 TFLOPS dense, NVLink 900 GB/s.
 * - RTX 4090: NVIDIA Ada GPU architecture whitepaper — 24 GB GDDR6X, 1,008 GB/s, FP16 tensor with FP32
 *   accumulate 165.2 TFLOPS dense (the mode PyTorch uses; 330 with FP16 accumulate). Used in calibration only.
 * Memory MiB values are nvidia-smi totals for each card (e.g. 81559 MiB on H100 80 GB, 46068 MiB on the 48 GB
 * GDDR6 cards).
 *
 * All-reduce latency: ≈10 µs with vLLM's custom all-reduce over NVLink, ≈30 µs through PCIe (NCCL small-message
 * latency); both are assumptions stated in docs/benchmarks/engine-calibration.md.
 *
 * Prices are indicative on-demand list prices per GPU-hour (2025–2026), for the optimizer's relative costs only:
 * - "lambda-2025": Lambda Cloud on-demand list (A10 $0.75, A100 40 GB $1.29, A100 80 GB SXM $1.79, H100 SXM $2.99,
 *   V100 $0.55 per GPU-hour).
 * - "mercatus-2026": the specialty-cloud mid-range of the Mercatus cloud GPU pricing guide, May 2026 (A100 80 GB
 *   $1.10–1.50, H200 $3.50–4.50).
 * - "estimate": no stable public list price found (L20 is sold mainly in China; L40S, L4 and RTX 4090 prices vary
 *   several-fold across providers); a mid-market figure, to be overridden.
 */
export const gpuCatalog = {
  A10: {
    id: 'A10',
    name: 'NVIDIA A10 24GB',
    memoryMiB: 23028 * MiB,
    memoryBandwidthGBs: 600,
    peakTflops16: 125,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 0.75,
    priceSource: 'lambda-2025',
  },
  L4: {
    id: 'L4',
    name: 'NVIDIA L4 24GB',
    memoryMiB: 23034 * MiB,
    memoryBandwidthGBs: 300,
    peakTflops16: 121,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 0.7,
    priceSource: 'estimate',
  },
  L20: {
    id: 'L20',
    name: 'NVIDIA L20 48GB',
    memoryMiB: 46068 * MiB,
    memoryBandwidthGBs: 864,
    peakTflops16: 119.5,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 0.8,
    priceSource: 'estimate',
  },
  L40S: {
    id: 'L40S',
    name: 'NVIDIA L40S 48GB',
    memoryMiB: 46068 * MiB,
    memoryBandwidthGBs: 864,
    peakTflops16: 362,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 1.0,
    priceSource: 'estimate',
  },
  V100: {
    id: 'V100',
    name: 'NVIDIA V100 SXM2 32GB',
    memoryMiB: 32768 * MiB,
    memoryBandwidthGBs: 900,
    peakTflops16: 125,
    bf16: false,
    interconnect: { kind: 'nvlink', bandwidthGBs: 150, latencyUs: 10 },
    hourlyUsd: 0.55,
    priceSource: 'lambda-2025',
  },
  'A100-40GB': {
    id: 'A100-40GB',
    name: 'NVIDIA A100 SXM4 40GB',
    memoryMiB: 40960 * MiB,
    memoryBandwidthGBs: 1555,
    peakTflops16: 312,
    bf16: true,
    interconnect: { kind: 'nvlink', bandwidthGBs: 300, latencyUs: 10 },
    hourlyUsd: 1.29,
    priceSource: 'lambda-2025',
  },
  'A100-80GB': {
    id: 'A100-80GB',
    name: 'NVIDIA A100 SXM4 80GB',
    memoryMiB: 81920 * MiB,
    memoryBandwidthGBs: 2039,
    peakTflops16: 312,
    bf16: true,
    interconnect: { kind: 'nvlink', bandwidthGBs: 300, latencyUs: 10 },
    hourlyUsd: 1.79,
    priceSource: 'lambda-2025',
  },
  'A100-80GB-PCIe': {
    id: 'A100-80GB-PCIe',
    name: 'NVIDIA A100 PCIe 80GB',
    memoryMiB: 81920 * MiB,
    memoryBandwidthGBs: 1935,
    peakTflops16: 312,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 1.3,
    priceSource: 'mercatus-2026',
  },
  H100: {
    id: 'H100',
    name: 'NVIDIA H100 SXM5 80GB',
    memoryMiB: 81559 * MiB,
    memoryBandwidthGBs: 3350,
    peakTflops16: 989,
    bf16: true,
    interconnect: { kind: 'nvlink', bandwidthGBs: 450, latencyUs: 10 },
    hourlyUsd: 2.99,
    priceSource: 'lambda-2025',
  },
  H200: {
    id: 'H200',
    name: 'NVIDIA H200 SXM 141GB',
    memoryMiB: 143771 * MiB,
    memoryBandwidthGBs: 4800,
    peakTflops16: 989,
    bf16: true,
    interconnect: { kind: 'nvlink', bandwidthGBs: 450, latencyUs: 10 },
    hourlyUsd: 4.0,
    priceSource: 'mercatus-2026',
  },
  'RTX-4090': {
    id: 'RTX-4090',
    name: 'NVIDIA GeForce RTX 4090 24GB',
    memoryMiB: 24564 * MiB,
    memoryBandwidthGBs: 1008,
    peakTflops16: 165.2,
    bf16: true,
    interconnect: { kind: 'pcie', bandwidthGBs: 32, latencyUs: 30 },
    hourlyUsd: 0.4,
    priceSource: 'estimate',
  },
} as const satisfies Record<string, GpuSpec>;

export type GpuId = keyof typeof gpuCatalog;

/**
 * vLLM's hardware-dependent scheduler defaults (VLLM-PROTOCOL §5): GPUs with ≥70 GiB that are not A100 get
 * `max_num_seqs` 1024 and a `vllm serve` token budget of 8192; the rest get 256 and 2048.
 */
export function isLargeGpuForDefaults(gpu: GpuSpec): boolean {
  return gpu.memoryMiB / 1024 >= 70 && !/a100/i.test(gpu.id) && !/a100/i.test(gpu.name);
}
