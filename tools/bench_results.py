"""The full comparison of nbs/10_results.ipynb on one built-in model: every method at W4A4, W4A8, W8A8 and W4A16, and
(--part ablations) the ablations of FAIR-Calib's prior at W4A4. One JSON line per row in results/results-<model>.jsonl,
written as soon as the row is done; a rerun skips the rows already there (resumable).

    python tools/bench_results.py --model small-llada [--part grid|ablations|all]
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from dataclasses import replace
from pathlib import Path

import torch

from bench_calibrate import PeakRSS, append_row, done_keys   # tools/ is on sys.path when this script runs
from fair_calib.calibrate import CalibConfig
from fair_calib.cli import quantize_model, stage_one
from fair_calib.evaluate import compare_ppl, decision_metrics, evaluate, heldout_prompts, sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.prior import load_prior
from fair_calib.quant import METHODS as QUANT_METHODS, calibration_ids
from fair_calib.sampling import generate
from fair_calib.stability import stability_lag
from fair_calib.train import read_domain

BITS = ('w4a4', 'w4a8', 'w8a8', 'w4a16')
METHODS = ('rtn', 'gptq', 'quarot-rtn', 'quarot-gptq', 'flatquant', 'fair', 'fair-gptq')
ABLATIONS = {                                            # name -> changes to the W4A4 FAIR-Calib run
    'signal=hits': dict(signal='hits'), 'signal=reliability': dict(signal='reliability'),
    'lam=0.25': dict(lam=0.25), 'lam=0.75': dict(lam=0.75), 'lam=1.0': dict(lam=1.0),
    'calib=32': dict(n_calib=32), 'calib=64': dict(n_calib=64),
    'stage1=16': dict(stage1=16), 'stage1=256': dict(stage1=256),
    # the calibration seed (masking of the states, batch order): how far two runs of the same method differ;
    # lam=0 is FlatQuant run through the weighted code path (equal to the w4a4/flatquant row)
    'seed=1': dict(seed=1), 'seed=2': dict(seed=2),
    'lam=0': dict(lam=0.), 'lam=0,seed=1': dict(lam=0., seed=1), 'lam=0,seed=2': dict(lam=0., seed=2),
    # the same for the GPTQ variants: FAIR-GPTQ against FlatQuant-GPTQ (uniform weights in the loss and the Hessian)
    'fair-gptq,seed=1': dict(method='fair-gptq', seed=1), 'fair-gptq,seed=2': dict(method='fair-gptq', seed=2),
    'flatquant-gptq': dict(method='flatquant-gptq'), 'flatquant-gptq,seed=1': dict(method='flatquant-gptq', seed=1),
    'flatquant-gptq,seed=2': dict(method='flatquant-gptq', seed=2),
}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--part', choices=('grid', 'ablations', 'all'), default='all')
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--n', type=int, default=128, help='calibration windows')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--gen-length', type=int, default=64)
    ap.add_argument('--stage1', type=int, default=64, help='Stage I prompts')
    ap.add_argument('--windows', type=int, default=64, help='ELBO windows per text')
    ap.add_argument('--tasks', nargs='*', default=['piqa', 'arc_easy', 'lambada_openai'])
    ap.add_argument('--limit', type=int, default=100, help='lm-eval examples per task')
    ap.add_argument('--mc-num', type=int, default=8, help='lm-eval Monte-Carlo samples per loglikelihood')
    ap.add_argument('--lag-rollouts', type=int, default=4, help='own rollouts per W4A4 model for the stability lag (even)')
    ap.add_argument('--bits', nargs='+', default=list(BITS))
    ap.add_argument('--methods', nargs='+', default=list(METHODS))
    ap.add_argument('--ablations', nargs='*', default=list(ABLATIONS))
    ap.add_argument('--out', type=Path, default=None, help='default: results/results-<model>.jsonl')
    a = ap.parse_args()
    out = a.out or Path('results') / f'results-{a.model}.jsonl'
    done = done_keys(out)
    torch.manual_seed(0)
    fp = load_dllm(a.model)
    sk = sampler_for(fp.arch, a.gen_length)
    settings = CalibConfig(epochs=a.epochs, gen_length=a.gen_length, block_length=sk.get('block_length'))
    calib = calibration_ids(fp, n=a.n, seq_len=a.seq_len, seed=0)
    texts = {d: read_domain(d)['heldout'] for d in ('gsm8k', 'shakespeare')}
    prompts = heldout_prompts(fp.tokenizer, n=8)
    command = 'python ' + ' '.join(map(shlex.quote, sys.argv))

    def prior_of(n_prompts: int):
        "Stage I on n_prompts calibration prompts, cached in results/ (with its time)."
        path = out.parent / f'prior-{a.model}-{n_prompts}.safetensors'
        meta = path.with_suffix('.json')
        if not path.exists():
            t0 = time.perf_counter()
            with PeakRSS() as mem: pr = stage_one(fp, settings, n=n_prompts, prompt_len=a.seq_len - a.gen_length, progress=False)
            pr.save(path); meta.write_text(json.dumps(dict(seconds=time.perf_counter() - t0, peak_mib=mem.mib)) + '\n')
        return load_prior(path), json.loads(meta.read_text())

    def emit(key: str, q, info: dict, extras: bool):
        "Evaluate `q` and append its row."
        t0 = time.perf_counter()
        row = dict(key=key, model=a.model, **info, ppl={})
        for d, t in texts.items():
            e = compare_ppl({'m': q}, t, seq_len=256, n_windows=a.windows, n_mc=4, seed=0, progress=False).results['m']
            row['ppl'][d] = e.to_dict() | dict(per_window=[round(v, 6) for v in e.per_window.tolist()])
        if q is not fp: row['decisions'] = decision_metrics(fp, q, prompts, **sk)
        if extras:
            h = a.lag_rollouts // 2                                                    # as many GSM8K as Shakespeare prompts
            _, tr = generate(q, prompts[:h] + prompts[len(prompts) - h:], trace=True, **sk)   # [-h:] would be all of them at h = 0
            row['lag_counts'] = torch.bincount(stability_lag(q, tr, batch_size=128).reshape(-1).long()).tolist()
            if a.tasks:
                ev = evaluate(q, a.tasks, limit=a.limit, mc_num=a.mc_num, batch_size=64, progress=False)
                row['lm_eval'] = {k: ev[k] for k in ('tasks', 'n', 'seconds_per_example', 'settings')}
        row |= dict(eval_seconds=time.perf_counter() - t0, command=command, versions=versions())
        append_row(out, row)
        print(key, {d: round(v['ppl'], 3) for d, v in row['ppl'].items()},
              row.get('decisions', {}).get('frontier_any'), f"{row.get('seconds', 0):.0f} s", flush=True)

    def run(key: str, method: str, bits: str, extras: bool, prior=None, calib_=calib, stage1: dict | None = None,
            settings_: CalibConfig = settings, **info):
        if key in done: return
        t0 = time.perf_counter()
        with PeakRSS() as mem:
            q = quantize_model(fp, method, bits, calib=calib_, prior=prior, settings=settings_, progress=False,
                               **({'a_clip': 0.9} if method in QUANT_METHODS else {}))
        secs = time.perf_counter() - t0
        emit(key, q, dict(method=method, bits=bits, seconds=secs, peak_mib=mem.mib, stage1=stage1,
                          n_calib=len(calib_), epochs=a.epochs, seed=settings_.seed, **info), extras)

    if 'fp' not in done: emit('fp', fp, dict(method='fp', bits='fp32', seconds=0.), True)
    prior, s1 = prior_of(a.stage1)
    if a.part in ('grid', 'all'):
        for bits in a.bits:
            for m in a.methods:
                run(f'{bits}/{m}', m, bits, bits == 'w4a4', prior if m.startswith('fair') else None, stage1=s1 if m.startswith('fair') else None)
    if a.part in ('ablations', 'all'):
        for name in a.ablations:
            ch = ABLATIONS[name]
            method = ch.get('method', 'fair')
            pr, st = prior_of(ch['stage1']) if 'stage1' in ch else (prior, s1)
            pr = replace(pr, **{k: v for k, v in ch.items() if k in ('signal', 'lam')})
            cal = calib[:ch['n_calib']] if 'n_calib' in ch else calib
            weighted = method.startswith('fair')
            run(f'ablation/{name}', method, 'w4a4', False, pr if weighted else None, cal, st if weighted else None,
                replace(settings, seed=ch.get('seed', settings.seed)), ablation=name,
                **(dict(lam=pr.lam, signal=pr.signal, stage1_prompts=pr.n) if weighted else {}))
    print('done', out)


if __name__ == '__main__': main()
