"""Peak memory of every quantization method at one bit width, each in a fresh process: the resident memory above the
loaded model and calibration data while the method runs (Stage I measured on its own). Writes
results/memory-<model>.json, which nbs/10_results.ipynb shows beside the results grid.

    python tools/bench_memory.py --model small-llada [--bits w4a4]
"""
from __future__ import annotations
import argparse, json, platform, subprocess, sys, time
from pathlib import Path

import torch

from bench_calibrate import PeakRSS, _status               # tools/ is on sys.path when this script runs
from bench_results import METHODS                          # the methods of the results grid
from fair_calib.calibrate import CalibConfig
from fair_calib.cli import quantize_model, stage_one
from fair_calib.evaluate import sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.prior import load_prior
from fair_calib.quant import METHODS as QUANT_METHODS, calibration_ids


def one(a) -> dict:
    "Run one method (or Stage I) in this process and measure it."
    torch.manual_seed(0)
    fp = load_dllm(a.model)
    sk = sampler_for(fp.arch, a.gen_length)
    settings = CalibConfig(epochs=a.epochs, gen_length=a.gen_length, block_length=sk.get('block_length'))
    calib = calibration_ids(fp, n=a.n, seq_len=a.seq_len, seed=0)
    prior = load_prior(a.prior) if a.one.startswith('fair') else None
    loaded = _status('VmRSS')
    t0 = time.perf_counter()
    with PeakRSS() as mem:
        if a.one == 'stage1': stage_one(fp, settings, n=a.stage1, prompt_len=a.seq_len - a.gen_length, progress=False)
        else: quantize_model(fp, a.one, a.bits, calib=calib, prior=prior, settings=settings, progress=False,
                             **({'a_clip': 0.9} if a.one in QUANT_METHODS else {}))
    return dict(method=a.one, peak_mib=mem.mib, loaded_mib=loaded / 2 ** 20, seconds=time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--bits', default='w4a4')
    ap.add_argument('--methods', nargs='+', default=['stage1', *METHODS])
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--n', type=int, default=128, help='calibration windows')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--gen-length', type=int, default=64)
    ap.add_argument('--stage1', type=int, default=64, help='Stage I prompts')
    ap.add_argument('--prior', type=Path, default=None, help='default: results/prior-<model>-<stage1>.safetensors (tools/bench_results.py)')
    ap.add_argument('--one', default=None, help=argparse.SUPPRESS)     # internal: the method a child process runs
    ap.add_argument('--out', type=Path, default=None, help='default: results/memory-<model>.json')
    a = ap.parse_args()
    a.prior = a.prior or Path('results') / f'prior-{a.model}-{a.stage1}.safetensors'
    if a.one: print(json.dumps(one(a))); return
    if any(m.startswith('fair') for m in a.methods) and not a.prior.exists():
        sys.exit(f"{a.prior} not found: run tools/bench_results.py --model {a.model} first (it caches Stage I's prior), or pass --prior")
    rows = []
    for m in a.methods:                                                  # a fresh interpreter per method
        r = subprocess.run([sys.executable, __file__, *sys.argv[1:], '--one', m], capture_output=True, text=True)
        if r.returncode: sys.exit(f'{m} failed:\n{r.stderr}')
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
        print(f"{m:12s} peak {rows[-1]['peak_mib']:7.1f} MiB above the loaded model ({rows[-1]['loaded_mib']:.0f} MiB), "
              f"{rows[-1]['seconds']:.0f} s", flush=True)
    out = a.out or Path('results') / f'memory-{a.model}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(model=a.model, bits=a.bits, rows=rows, command='python ' + ' '.join(sys.argv),
                                   machine=platform.processor() or platform.machine(), threads=torch.get_num_threads(),
                                   versions=versions()), indent=1) + '\n')
    print('wrote', out)


if __name__ == '__main__': main()
