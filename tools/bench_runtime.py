"""The integer runtime against float, side by side in one run on this CPU: one LLaDA-8B-shaped and one Dream-7B-shaped
block (random weights, a 256-token canvas, batch 1 and 4), time per forward in fp32, bf16, the simulated W4A4 model,
W8A8-int, W4A4-int (RTN, QuaRot's online Hadamard, FlatQuant's Kronecker transforms; int8 or packed int4 codes) and
W4A16 (and, for one GEMM, torch's int4 weight-only kernel against dequantizing); the bytes of the linear weights; the online transforms' share of the block's time; and the built-in small
models end to end (`fair-calib generate`: tokens/s, sampler steps/s and peak RSS, each in its own process). Run it on
an otherwise idle machine. Writes results/runtime.jsonl (resumable), which nbs/04f_runtime.ipynb shows.

    python tools/bench_runtime.py [--threads 2] [--repeats 3]
"""
from __future__ import annotations
import argparse, copy, json, platform, re, statistics, subprocess, sys, tempfile, time
from pathlib import Path

import torch

from fair_calib.evaluate import versions
from fair_calib.flatquant import add_transforms, fold
from fair_calib.models import DLLM, block_linears, init_dllm, load_dllm
from fair_calib.quant import QuantConfig, quantize, save_quantized
from fair_calib.runtime import has_onednn, linear_bytes, to_int
from fair_calib.train import read_domain

sys.path.insert(0, str(Path(__file__).parent))
from bench_calibrate import append_row, done_keys                      # noqa: E402

SHAPES = {   # one block of the published models, a toy vocabulary (the head is not benchmarked)
    'llada-8b': ('llada', '8b', dict(n_layers=1, vocab_size=256, embedding_size=256, mask_token_id=255, eos_token_id=254, pad_token_id=254)),
    'dream-7b': ('dream', '7b', dict(num_hidden_layers=1, vocab_size=256, mask_token_id=255, pad_token_id=254, eos_token_id=254, bos_token_id=254)),
}
CANVAS = 256


def timed(f, repeats: int, warmup: bool = True) -> float:
    "Median seconds of `repeats` calls (after one warm-up call)."
    if warmup: f()
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter(); f(); ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def variants(fp: DLLM) -> dict:
    "name -> (a 1-block model, input dtype); built one at a time by the caller (each holds a copy of the block)."
    w4a4 = QuantConfig()
    def kron():
        q = DLLM(copy.deepcopy(fp.model), None, fp.name)
        add_transforms(q, w4a4); fold(q); q.quant = dict(method='flatquant-init')
        return q
    return {
        'fp32': lambda: (fp, torch.float32),
        'bf16': lambda: (DLLM(copy.deepcopy(fp.model).to(torch.bfloat16), None, fp.name), torch.bfloat16),
        'w4a4-fake': lambda: (quantize(fp, 'rtn', w4a4, progress=False), torch.float32),
        'w4a4-int': lambda: (to_int(quantize(fp, 'rtn', w4a4, progress=False)), torch.float32),
        'w4a4-int-int4': lambda: (to_int(quantize(fp, 'rtn', w4a4, progress=False), store='int4'), torch.float32),
        'w4a4-int-quarot': lambda: (to_int(quantize(fp, 'quarot-rtn', w4a4, progress=False)), torch.float32),
        'w4a4-int-flatquant': lambda: (to_int(kron()), torch.float32),
        'w8a8-int': lambda: (to_int(quantize(fp, 'rtn', QuantConfig(w_bits=8, a_bits=8), progress=False)), torch.float32),
        'w4a16-int': lambda: (to_int(quantize(fp, 'rtn', QuantConfig(a_bits=16), progress=False)), torch.float32),
    }


def transform_seconds(m: DLLM, B: int, repeats: int) -> float:
    "Seconds of the block's online transforms alone, each once per forward, on inputs of the right shapes."
    ts = {id(l.transform): (l.transform, l.in_features) for l in block_linears(m, 0).values() if l.transform is not None}
    xs = [(t, torch.randn(B, CANVAS, n)) for t, n in ts.values()]
    with torch.no_grad(): return timed(lambda: [t(x) for t, x in xs], repeats)


def bench_blocks(out: Path, done: set, repeats: int, threads: int):
    for shape, (arch, size, over) in SHAPES.items():
        fp = init_dllm(arch, size, **over)
        cos, sin = fp.model.rope(torch.arange(CANVAS)[None])
        for name, make in variants(fp).items():
            keys = [f'block/{shape}/{name}/B={B}' for B in (1, 4)]
            if all(k in done for k in keys): continue
            m, dtype = make()
            mem = linear_bytes(m)
            held, n = mem['bytes'], mem['params']
            for B, key in zip((1, 4), keys):
                if key in done: continue
                h = torch.randn(B, CANVAS, fp.config.hidden_size, generator=torch.Generator().manual_seed(0)).to(dtype)
                blk = m.blocks[0]
                slow = name in ('bf16', 'w4a16-int')                             # minutes per call here: one cold call
                reps = 1 if slow else repeats
                with torch.no_grad(): sec = timed(lambda: blk(h, cos.to(dtype), sin.to(dtype)), reps, warmup=not slow)
                row = dict(key=key, kind='block', shape=shape, variant=name, batch=B, tokens=B * CANVAS, seconds=sec,
                           linear_bytes=held, vs_fp16=held / (2 * n), vs_fp32=held / (4 * n), params=n, threads=threads, repeats=reps)
                if 'flatquant' in name or 'quarot' in name: row['transform_seconds'] = transform_seconds(m, B, repeats)
                append_row(out, row); done.add(key)
                print(f"{key}: {sec:.3f} s ({B * CANVAS / sec:.0f} tokens/s), linear weights {held / 2 ** 20:.0f} MiB = {row['vs_fp32']:.3f} of fp32", flush=True)
            del m


def generate_run(model: str | Path, prompts: list[str], threads: int, *extra) -> dict:
    "One `fair-calib generate` in its own process: its printed tokens/s, sampler steps/s and peak RSS."
    cmd = [sys.executable, '-m', 'fair_calib.cli', 'generate', '--model', str(model), '--gen-length', '64',
           '--threads', str(threads), *extra, '--prompt', *prompts]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    m = re.search(r'([\d.]+) tokens/s, ([\d.]+) sampler steps/s, ([\d.]+) s, peak RSS (\d+) MiB', out)
    return dict(tokens_per_s=float(m[1]), steps_per_s=float(m[2]), seconds=float(m[3]), peak_rss_mib=int(m[4]))


def bench_models(out: Path, done: set, threads: int):
    for name in ('small-llada', 'small-dream'):
        fp = load_dllm(name)
        prompts = [t[:120] for t in read_domain('gsm8k')['heldout'][:8]]
        with tempfile.TemporaryDirectory() as d:
            save_quantized(quantize(fp, 'quarot-rtn', QuantConfig(), progress=False), d)
            for variant, model, extra in (('fp32', name, ()), ('w4a4-fake', d, ('--runtime', 'fake')),
                                          ('w4a4-int', d, ('--runtime', 'int')), ('w4a4-int-int4', d, ('--runtime', 'int', '--store', 'int4'))):
                key = f'generate/{name}/{variant}'
                if key in done: continue
                row = dict(key=key, kind='generate', model=name, variant=variant, batch=len(prompts), gen_length=64,
                           method='quarot-rtn' if variant != 'fp32' else None, threads=threads, **generate_run(model, prompts, threads, *extra))
                append_row(out, row); done.add(key)
                print(f"{key}: {row['tokens_per_s']:.1f} tokens/s, {row['steps_per_s']:.2f} steps/s, peak RSS {row['peak_rss_mib']} MiB", flush=True)


def bench_w4a16_kernels(out: Path, done: set, threads: int):
    "W4A16 two ways at one LLaDA-8B GEMM (256 x 4096 x 4096): torch's int4 weight-only CPU kernel vs dequantize + fp32 GEMM."
    key = 'gemm/w4a16/256x4096x4096'
    if key in done or not hasattr(torch.ops.aten, '_weight_int4pack_mm_for_cpu'): return
    M, K, N, g = 256, 4096, 4096, 128
    x, codes = torch.randn(M, K), torch.randint(0, 16, (N, K), dtype=torch.int32)
    scale_zero = torch.rand(K // g, N, 2)
    packed = torch.ops.aten._convert_weight_to_int4pack_for_cpu(codes, 1)
    t_kernel = timed(lambda: torch.ops.aten._weight_int4pack_mm_for_cpu(x, packed, g, scale_zero), 1, warmup=False)
    c8 = codes.to(torch.int8) - 8
    s = torch.rand(N, 1)
    t_deq = timed(lambda: x @ (c8.float() * s).T, 3)
    row = dict(key=key, kind='gemm', int4pack_seconds=t_kernel, dequant_fp32_seconds=t_deq, threads=threads)
    append_row(out, row); done.add(key)
    print(f"{key}: int4 weight-only kernel {t_kernel:.3f} s, dequantize + fp32 {t_deq:.3f} s", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--threads', type=int, default=2)
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--out', type=Path, default=Path('results') / 'runtime.jsonl')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    done = done_keys(a.out)
    if 'machine' not in done:
        append_row(a.out, dict(key='machine', cpu=platform.processor() or platform.machine(), onednn=has_onednn(),
                               capability=torch.backends.cpu.get_cpu_capability(), **versions()))
        done.add('machine')
    bench_blocks(a.out, done, a.repeats, a.threads)
    bench_models(a.out, done, a.threads)
    bench_w4a16_kernels(a.out, done, a.threads)


if __name__ == '__main__': main()
