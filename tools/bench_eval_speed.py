"""Evaluation speed of the lm-eval model on the small models: examples per second and forward passes of a
one-token-choice task (BoolQ) and a multi-token one (PIQA), 40 examples each, mc_num 8, batch 32, one thread.
Appends {label, commit, results} to results/eval-speed.jsonl; run it at two commits to compare.

    python tools/bench_eval_speed.py --label after
"""
import argparse, json, os, subprocess, time
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1'); os.environ.setdefault('HF_DATASETS_OFFLINE', '1')
import torch
from fair_calib.evaluate import evaluate
from fair_calib.models import load_dllm


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--label', required=True)
    ap.add_argument('--out', type=Path, default=Path(__file__).resolve().parents[1] / 'results' / 'eval-speed.jsonl')
    a = ap.parse_args()
    torch.set_num_threads(1)
    out = {}
    for name in ('small-llada', 'small-dream'):
        m = load_dllm(name)
        calls, f = [0], m.logits
        def counted(*x, **k): calls[0] += 1; return f(*x, **k)
        m.logits = counted
        for task in ('boolq', 'piqa'):
            calls[0], t = 0, time.perf_counter()
            r = evaluate(m, [task], limit=40, mc_num=8, batch_size=32, progress=False)
            s = time.perf_counter() - t
            out[f'{name}/{task}'] = dict(examples=r['n'][task], seconds=round(s, 1), examples_per_s=round(r['n'][task] / s, 2),
                                         forwards=calls[0], acc=r['tasks'][task]['acc'])
            print(name, task, out[f'{name}/{task}'], flush=True)
    commit = subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], capture_output=True, text=True, cwd=Path(__file__).parent).stdout.strip()
    with open(a.out, 'a') as fh: fh.write(json.dumps(dict(label=a.label, commit=commit, date=time.strftime('%Y-%m-%d'), results=out,
                                                          command=f'python tools/bench_eval_speed.py --label {a.label}')) + '\n')


if __name__ == '__main__': main()
