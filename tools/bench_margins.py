"""FP's decision margins on the testbed's evaluation problems (nbs/10_results.ipynb): the full-precision model's greedy
rollouts of exactly the problems, batches and sampler of tools/bench_testbed.py (its task_accuracy call), traced, so that every written token's
top-1 minus top-2 probability (and its probability) at the step the commit rule wrote it is known per problem. The
outcomes are checked against the FP row of results/testbed-<model>.jsonl (the same rollouts). Writes
results/margins-<model>.json.

    python tools/bench_margins.py --model testbed-llada [--problems 500]
"""
from __future__ import annotations
import argparse, json, shlex, sys, time
from pathlib import Path

from fair_calib.evaluate import versions
from fair_calib.models import load_dllm
from fair_calib.testbed import TESTBED_GEN, task_accuracy

from bench_testbed import eval_problems          # tools/ is on sys.path when this script runs


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='testbed-llada')
    ap.add_argument('--problems', type=int, default=500, help='evaluation problems per family (as bench_testbed)')
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    arch = a.model.removeprefix('testbed-')
    out = a.out or Path('results') / f'margins-{a.model}.json'
    fp = load_dllm(a.model)
    G = TESTBED_GEN
    _, problems = eval_problems(fp, a.problems)                         # bench_testbed's evaluation problems
    margin, conf = [None] * len(problems), [None] * len(problems)

    def keep(idx: list[int], tr):
        "Each written token's margin and probability at the step it was written, per problem."
        mg, cf = tr.at_commit(tr.margin), tr.at_commit(tr.confidence)                  # (B, G)
        for j, i in enumerate(idx): margin[i], conf[i] = [round(v, 5) for v in mg[j].tolist()], [round(v, 5) for v in cf[j].tolist()]

    t0 = time.perf_counter()
    res = task_accuracy(fp, problems, gen_length=G, progress=True, on_trace=keep)   # bench_testbed's call, traced
    p = out.parent / f'testbed-{arch}.jsonl'
    rows = {r['key']: r for r in map(json.loads, p.read_text().splitlines())} if p.exists() else {}
    same = res.record()['correct'] == rows['fp']['correct'] if 'fp' in rows else None   # None: no FP row to check against
    rec = dict(model=a.model, command='python ' + ' '.join(map(shlex.quote, sys.argv)), sampler={k: str(v) for k, v in res.sampler.items()},
               seconds=time.perf_counter() - t0, accuracy=res.accuracy, same_as_fp_row=same, **res.record(),
               margin=margin, confidence=conf, versions=versions())
    out.write_text(json.dumps(rec) + '\n')
    print(f'{a.model}: FP accuracy {res.accuracy:.3f}, outcomes equal to the FP row: {same}; {rec["seconds"]:.0f} s; {out}')


if __name__ == '__main__': main()
