"""ELBO perplexity (with standard error) of a built-in model on held-out GSM8K, Shakespeare and WikiText-2 test, and
offline lm-eval accuracy (PIQA, ARC-Easy, LAMBADA) with time per example. Writes results/evaluate-<model>.json, which
nbs/07_evaluate.ipynb shows.

    python tools/bench_evaluate.py --model small-llada [--limit 500 --mc-num 32]
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

import torch

from fair_calib.evaluate import elbo_ppl, evaluate
from fair_calib.models import load_dllm
from fair_calib.train import read_domain


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--n-mc', type=int, default=4, help='masks per window')
    ap.add_argument('--tasks', nargs='+', default=['piqa', 'arc_easy', 'lambada_openai'])
    ap.add_argument('--limit', type=int, default=500, help='examples per task')
    ap.add_argument('--mc-num', type=int, default=32, help='Monte-Carlo samples per continuation')
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path('results') / f'evaluate-{a.model}.json'
    torch.manual_seed(0)
    m = load_dllm(a.model)
    rec = dict(model=a.model, command='python ' + ' '.join(map(shlex.quote, sys.argv)), ppl={})
    for d in ('gsm8k', 'shakespeare', 'wikitext'):
        t0 = time.perf_counter()
        e = elbo_ppl(m, read_domain(d)['heldout'], seq_len=a.seq_len, n_mc=a.n_mc, progress=False)
        rec['ppl'][d] = e.to_dict() | dict(seconds=time.perf_counter() - t0)
        print(d, e, f'{time.perf_counter() - t0:.0f} s', flush=True)
    rec['lm_eval'] = evaluate(m, a.tasks, limit=a.limit, mc_num=a.mc_num, batch_size=64, progress=False)
    print(json.dumps(rec['lm_eval']['tasks'], indent=1), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(rec, indent=2) + '\n')
    print('wrote', out)


if __name__ == '__main__': main()
