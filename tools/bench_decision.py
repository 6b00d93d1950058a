"""Does the decision term (nbs/05c_decision.ipynb) lower the quantized model's frontier KL? Stage II (`flatquant`) with and
without it, per seed on the same calibration windows, judged by the whole W4A4 model's frontier KL (decision.frontier_kl)
on held-out states and on the calibration states themselves. One JSON line per (variant, seed) in
results/decision-<model>.jsonl, written when done; a rerun skips rows already there (resumable).

    python tools/bench_decision.py --model small-llada [--seeds 0 1] [--variants 0:1 1:1 4:1 1:8 1:32]
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from dataclasses import replace
from pathlib import Path

import torch

from bench_calibrate import append_row, done_keys   # tools/ is on sys.path when this script runs
from fair_calib.calibrate import CalibConfig, calibrate, calibration_states
from fair_calib.decision import frontier_kl, frontier_targets
from fair_calib.evaluate import sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.quant import calibration_ids
from fair_calib.states import StateWeights


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--variants', nargs='+', default=['0:1', '1:1', '4:1', '1:8', '1:32'],
                    help='beta:k, the decision weight and the frontier positions per state it is taken at (0:1 is FlatQuant)')
    ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1], help='calibration seeds (windows, masking, batch order)')
    ap.add_argument('--n', type=int, default=64, help='calibration windows')
    ap.add_argument('--held', type=int, default=128, help='held-out states')
    ap.add_argument('--seq-len', type=int, default=96)
    ap.add_argument('--gen-length', type=int, default=64)
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path('results') / f'decision-{a.model}.jsonl'
    done = done_keys(out)
    fp = load_dllm(a.model)
    B = sampler_for(fp.arch, a.gen_length).get('block_length')
    gen_start = a.seq_len - a.gen_length
    sw1 = StateWeights(block_length=B)                                        # the sampler's frontier: one position per state
    def targets(ids, seed):
        x, m = calibration_states(fp, ids, CalibConfig(gen_length=a.gen_length, block_length=B, seed=seed))
        return x, frontier_targets(fp, x, m, gen_start, sw1)
    xh, fth = targets(calibration_ids(fp, n=a.held, seq_len=a.seq_len, seed=100), 7)   # held-out windows and masks
    command = 'python ' + ' '.join(map(shlex.quote, sys.argv))
    for seed in a.seeds:
        calib = calibration_ids(fp, n=a.n, seq_len=a.seq_len, seed=seed)
        settings = CalibConfig(epochs=a.epochs, gen_length=a.gen_length, block_length=B, seed=seed)
        xc, ftc = targets(calib, seed)                                        # the very states Stage II trains on
        for v in a.variants:
            beta, k = float(v.split(':')[0]), int(v.split(':')[1])
            key = f'beta={beta:g}/k={k}/seed={seed}'
            if key in done: continue
            t0 = time.perf_counter()
            q = calibrate(fp, 'flatquant', calib=calib, settings=replace(settings, decision=beta, decision_epochs=a.epochs),
                          state_weights=StateWeights(k=k, block_length=B) if beta else None, progress=False)
            sec = time.perf_counter() - t0
            row = dict(key=key, model=a.model, beta=beta, k=k, seed=seed, seconds=sec, n=a.n, epochs=a.epochs,
                       held=[round(v, 7) for v in frontier_kl(q, xh, fth).tolist()],
                       calib=[round(v, 7) for v in frontier_kl(q, xc, ftc).tolist()],
                       blocks=q.quant['losses'], command=command, versions=versions())
            append_row(out, row)
            print(key, f"held {sum(row['held']) / len(row['held']):.5f} calib {sum(row['calib']) / len(row['calib']):.5f} {sec:.0f} s", flush=True)


if __name__ == '__main__': main()
