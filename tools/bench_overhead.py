"""The time cost of Stage II's options against FlatQuant on the same calibration set: FAIR-Calib's reweighting by the
prior (`fair`), per-state weights (`fair-state`), on-policy states (`<method>/rollout`) and the decision term
(`<method>+decision`), each a full `calibrate` call, interleaved (flatquant, fair, ..., flatquant, fair, ...) so that
drifts of the machine hit every variant alike. Stage I, which `fair` needs once per model, is timed once beside them.
A testbed model is calibrated as bench_testbed does it (its training mix, its answer length). Run it on an otherwise
idle machine, or read the ratios only. Writes results/overhead-<model>.json (nbs/06_calibrate.ipynb, nbs/10_results.ipynb).

    python tools/bench_overhead.py --model small-llada [--repeats 3] [--n 64] [--epochs 3]
    python tools/bench_overhead.py --model testbed-llada --variants flatquant fair fair-state flatquant/rollout fair/rollout fair-state/rollout flatquant+decision --repeats 2 --epochs 5
"""
from __future__ import annotations
import argparse, json, platform, statistics, sys, time
from dataclasses import replace
from pathlib import Path

import torch

from fair_calib.calibrate import METHODS as CALIB_METHODS, WEIGHTED, CalibConfig, calibrate
from fair_calib.cli import calib_for, gen_length_for, stage_one
from fair_calib.evaluate import sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.quant import QuantConfig
from fair_calib.testbed import trained_mix


def parse_variant(v: str) -> tuple[str, str, bool]:
    "'fair-state/rollout+decision' -> ('fair-state', 'rollout', True): method, calibration states, decision term."
    decision = v.endswith('+decision')
    method, _, states = v.removesuffix('+decision').partition('/')
    if method not in CALIB_METHODS or states not in ('', 'rollout'):
        raise SystemExit(f"variant {v!r}: expected <method>[/rollout][+decision] with a method of {', '.join(CALIB_METHODS)}")
    return method, states or 'masked', decision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--variants', nargs='+', default=['flatquant', 'fair'], help='<method>[/rollout][+decision]; the first is the reference')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--n', type=int, default=64, help='calibration windows')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--gen-length', type=int, default=None, help="default: a testbed model's answer length, else 64")
    ap.add_argument('--stage1', type=int, default=None, help='Stage I prompts (default: 64 on a testbed model, 16 otherwise)')
    ap.add_argument('--epochs', type=int, default=3)
    ap.add_argument('--beta', type=float, default=1., help='the decision term of +decision variants')
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    variants = {v: parse_variant(v) for v in a.variants}
    out = a.out or Path('results') / f'overhead-{a.model}.json'
    out.parent.mkdir(parents=True, exist_ok=True)
    fp = load_dllm(a.model)
    mix = trained_mix(fp)                                                        # a testbed model: its task mix
    G = gen_length_for(mix, a.gen_length)
    sk = sampler_for(fp.arch, G)
    base = CalibConfig(epochs=a.epochs, gen_length=G, block_length=sk.get('block_length'))
    cfg = QuantConfig.named('w4a4', learn_w_clip=True, learn_a_clip=True)
    calib = calib_for(fp, n=a.n, seq_len=a.seq_len, gen=G, seed=0)
    t0 = time.perf_counter()
    prior = stage_one(fp, base, n=a.stage1 or (64 if mix else 16), prompt_len=a.seq_len - G, progress=False)
    stage1 = time.perf_counter() - t0
    print(f'Stage I: {stage1:.2f} s', flush=True)
    times = {v: [] for v in variants}
    for r in range(a.repeats):
        for v, (method, states, decision) in variants.items():
            settings = replace(base, states=states, decision=a.beta if decision else 0.)
            t0 = time.perf_counter()
            calibrate(fp, method, cfg, calib=calib, prior=prior if method in WEIGHTED else None, settings=settings, progress=False)
            times[v].append(time.perf_counter() - t0)
            print(f'repeat {r}: {v:22s} {times[v][-1]:.2f} s', flush=True)
    ref = a.variants[0]
    med = {v: statistics.median(t) for v, t in times.items()}
    per_repeat = {v: [b / a_ - 1 for a_, b in zip(times[ref], t)] for v, t in times.items() if v != ref}
    rec = dict(model=a.model, args={k: str(v) for k, v in vars(a).items()}, command='python ' + ' '.join(sys.argv),
               reference=ref, seconds=times, median=med, stage1_seconds=stage1,
               overhead={v: med[v] / med[ref] - 1 for v in per_repeat}, overhead_per_repeats=per_repeat,
               threads=torch.get_num_threads(), machine=platform.processor() or platform.machine(), versions=versions())
    out.write_text(json.dumps(rec, indent=2) + '\n')
    for v, o in rec['overhead'].items():
        print(f"{v:22s} vs {ref}: median {med[v]:.2f} s vs {med[ref]:.2f} s, {o:+.1%} (per repeat {', '.join(f'{x:+.1%}' for x in per_repeat[v])})")
    print(f'Stage I once: {stage1:.2f} s = {stage1 / med[ref]:.2f} of a {ref} run; {out}')


if __name__ == '__main__': main()
