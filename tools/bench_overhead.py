"""The time cost of FAIR-Calib's reweighting: Stage II with `fair` against `flatquant` (the same code with w = 1) on the
same calibration set, interleaved (flatquant, fair, flatquant, fair, ...) so that drifts of the machine hit both
alike. Run it on an otherwise idle machine. Writes results/overhead-<model>.json, which nbs/06_calibrate.ipynb shows.

    python tools/bench_overhead.py --model small-llada [--repeats 3] [--n 64] [--epochs 3]
"""
from __future__ import annotations
import argparse, json, platform, statistics, sys, time
from pathlib import Path

import torch

from fair_calib.calibrate import CalibConfig, calibrate
from fair_calib.cli import stage_one
from fair_calib.evaluate import sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.quant import QuantConfig, calibration_ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--n', type=int, default=64, help='calibration windows')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--gen-length', type=int, default=64)
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path('results') / f'overhead-{a.model}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    fp = load_dllm(a.model)
    sk = sampler_for(fp.arch, a.gen_length)
    settings = CalibConfig(epochs=a.epochs, gen_length=a.gen_length, block_length=sk.get('block_length'))
    cfg = QuantConfig.named('w4a4', learn_w_clip=True, learn_a_clip=True)
    calib = calibration_ids(fp, n=a.n, seq_len=a.seq_len, seed=0)
    prior = stage_one(fp, settings, n=16, prompt_len=a.seq_len - a.gen_length, progress=False)   # its cost is not timed here
    times = {'flatquant': [], 'fair': []}
    for r in range(a.repeats):
        for method in times:
            t0 = time.perf_counter()
            calibrate(fp, method, cfg, calib=calib, prior=prior if method == 'fair' else None, settings=settings, progress=False)
            times[method].append(time.perf_counter() - t0)
            print(f'repeat {r}: {method:9s} {times[method][-1]:.2f} s', flush=True)
    med = {m: statistics.median(t) for m, t in times.items()}
    ratios = [b / a_ - 1 for a_, b in zip(times['flatquant'], times['fair'])]
    rec = dict(model=a.model, args={k: str(v) for k, v in vars(a).items()}, command='python ' + ' '.join(sys.argv),
               seconds=times, median=med, overhead_median=med['fair'] / med['flatquant'] - 1,
               overhead_per_repeat=ratios, threads=torch.get_num_threads(), machine=platform.processor() or platform.machine(),
               versions=versions())
    out.write_text(json.dumps(rec, indent=2) + '\n')
    print(f"FAIR vs FlatQuant Stage II: median {med['fair']:.2f} s vs {med['flatquant']:.2f} s, overhead {rec['overhead_median']:+.1%} "
          f"(per repeat {', '.join(f'{x:+.1%}' for x in ratios)}); {out}")


if __name__ == '__main__': main()
