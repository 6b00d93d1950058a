"""The method comparison on task accuracy (nbs/10_results.ipynb): a testbed model (fair_calib.testbed) in full precision
and quantized by every method, each calibrated method with several calibration seeds. Per row: exact-match accuracy on
the same evaluation problems (per problem, for paired tests), frontier flips on task prompts, and the ELBO on held-out
text. One JSON line per row in results/testbed-<model>.jsonl, written when the row is done; a rerun skips the rows
already there (resumable).

    python tools/bench_testbed.py --model testbed-llada [--bits w4a4] [--seeds 0 1 2] [--methods ...]
"""
from __future__ import annotations
import argparse, copy, json, shlex, sys, time
from pathlib import Path

import torch

from bench_calibrate import PeakRSS, append_row, done_keys   # tools/ is on sys.path when this script runs
from fair_calib.calibrate import METHODS as CALIB_METHODS, WEIGHTED, CalibConfig
from fair_calib.cli import calib_for, quantize_model, stage_one_ids
from fair_calib.evaluate import compare_ppl, decision_metrics, sampler_for, versions
from fair_calib.models import load_dllm
from fair_calib.prior import estimate_prior, load_prior
from fair_calib.quant import METHODS as QUANT_METHODS
from fair_calib.runtime import has_onednn, to_int
from fair_calib.sampling import generate
from fair_calib.testbed import TESTBED_FAMILIES, TESTBED_GEN, mix_suite, prompt_ids, task_accuracy, trained_mix
from fair_calib.train import read_domain

METHODS = ('rtn', 'gptq', 'quarot-rtn', 'quarot-gptq', 'flatquant', 'fair', 'flatquant-gptq', 'fair-gptq',
           'fair-state', 'fair-state-gptq')                                            # the last two: per-state weights
GRID = METHODS[:8]                                                                      # the default comparison
SEEDED = ('gptq', 'quarot-gptq', 'flatquant', 'fair', 'flatquant-gptq', 'fair-gptq', 'fair-state', 'fair-state-gptq')


def eval_problems(fp, per_family: int) -> tuple[tuple, list]:
    "A testbed model's final training mix and the evaluation problems of its rows: its families at its difficulty."
    mix = trained_mix(fp) or tuple((f, 1.) for f in TESTBED_FAMILIES)
    return mix, mix_suite(mix, per_family, seed=0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='testbed-llada')
    ap.add_argument('--bits', nargs='+', default=['w4a4'])
    ap.add_argument('--methods', nargs='+', default=list(GRID), choices=METHODS)
    ap.add_argument('--states', default='masked', choices=('masked', 'rollout'), help="Stage II's calibration states (rows of 'rollout' are keyed .../rollout)")
    ap.add_argument('--per-prompt', type=int, default=1, help='rollout states per calibration prompt')
    ap.add_argument('--seeds', nargs='+', type=int, default=[0, 1, 2], help='calibration seeds (windows, masking, batch order)')
    ap.add_argument('--problems', type=int, default=500, help='evaluation problems per family')
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--n', type=int, default=128, help='calibration windows')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--stage1', type=int, default=64, help='Stage I prompts (training split)')
    ap.add_argument('--flip-prompts', type=int, default=16, help='task prompts per family for the frontier flips')
    ap.add_argument('--windows', type=int, default=64, help='ELBO windows per text')
    ap.add_argument('--out', type=Path, default=None, help='default: results/testbed-<model>.jsonl')
    a = ap.parse_args()
    out = a.out or Path('results') / f'testbed-{a.model.removeprefix("testbed-")}.jsonl'
    done = done_keys(out)
    torch.manual_seed(0)
    fp = load_dllm(a.model)
    G = TESTBED_GEN
    sk = sampler_for(fp.arch, G)
    mix, problems = eval_problems(fp, a.problems)
    flip_prompts = prompt_ids(fp, mix_suite(mix, a.flip_prompts, seed=1))
    texts = {d: read_domain(d)['heldout'] for d in ('gsm8k', 'shakespeare')}
    command = 'python ' + ' '.join(map(shlex.quote, sys.argv))
    fp_rollout = generate(fp, flip_prompts, trace=True, **sk)
    probe = fp_rollout[0][:8]                                                   # FP's written canvases: a fixed logits probe

    def runtime_of(q):
        "The model to evaluate: the integer twin of `q` when its logits equal q's bit for bit on the probe (faster), else q."
        if not hasattr(q, 'quant') or not has_onednn(): return q, 'fake'             # FP, or no oneDNN
        qi = to_int(copy.deepcopy(q))
        with torch.no_grad(): same = torch.equal(qi.logits(probe), q.logits(probe))
        if not same: print('the integer runtime differs from the simulated model on the probe: evaluating the simulated one', flush=True)
        return (qi, 'int') if same else (q, 'fake')

    def prior():
        "Stage I on training-split task prompts with the model's sampler, cached in results/ (with its time)."
        path = out.parent / f'prior-{a.model}-{a.stage1}.safetensors'
        meta = path.with_suffix('.json')
        if not path.exists():
            t0 = time.perf_counter()
            prompts = stage_one_ids(fp, a.stage1)
            with PeakRSS() as mem: pr = estimate_prior(fp, prompts, batch_size=16, progress=False, **sk)
            pr.save(path); meta.write_text(json.dumps(dict(seconds=time.perf_counter() - t0, peak_mib=mem.mib)) + '\n')
        return load_prior(path), json.loads(meta.read_text())

    def emit(key: str, q, info: dict):
        "Evaluate `q` and append its row."
        t0 = time.perf_counter()
        q, runtime = runtime_of(q)                                              # results equal either way; 'int' is faster
        res = task_accuracy(q, problems, gen_length=G)
        row = dict(key=key, model=a.model, **info, runtime=runtime, accuracy=res.summary(), **res.record(), n_per_family=a.problems,
                   sampler=res.sampler, ppl={})
        for d, t in texts.items():
            e = compare_ppl({'m': q}, t, seq_len=256, n_windows=a.windows, n_mc=4, seed=0, progress=False).results['m']
            row['ppl'][d] = e.to_dict() | dict(per_window=[round(v, 6) for v in e.per_window.tolist()])
        if q is not fp: row['decisions'] = decision_metrics(fp, q, flip_prompts, fp_rollout=fp_rollout, **sk)
        row['examples'] = [dict(prompt=p.prompt, answer=p.answer, output=g) for p, g in list(zip(problems, res.generations))[::a.problems][:3]]
        row |= dict(eval_seconds=time.perf_counter() - t0, command=command, versions=versions())
        append_row(out, row)
        print(key, f"acc {res.accuracy:.3f} ± {res.se:.3f}", {f: round(v['accuracy'], 3) for f, v in res.per_family().items()},
              row.get('decisions', {}).get('frontier_any'), f"{info.get('seconds', 0):.0f}+{row['eval_seconds']:.0f} s", flush=True)

    if 'fp' not in done: emit('fp', fp, dict(method='fp', bits='fp32', seconds=0.))
    pr, s1 = prior() if any(m in WEIGHTED for m in a.methods) else (None, None)
    for bits in a.bits:
        for m in a.methods:
            for seed in (a.seeds if m in SEEDED else [None]):
                on_policy = a.states == 'rollout' and m in CALIB_METHODS
                key = f'{bits}/{m}' + ('/rollout' if on_policy else '') + (f'/seed={seed}' if seed is not None else '')
                if key in done: continue
                s = seed or 0
                calib = calib_for(fp, n=a.n, seq_len=a.seq_len, gen=G, seed=s) if m in SEEDED else None
                settings = CalibConfig(epochs=a.epochs, gen_length=G, block_length=sk.get('block_length'), seed=s,
                                       states=a.states if on_policy else 'masked', per_prompt=a.per_prompt)
                t0 = time.perf_counter()
                with PeakRSS() as mem:
                    q = quantize_model(fp, m, bits, calib=calib, prior=pr if m in WEIGHTED else None, settings=settings,
                                       progress=False, **({'a_clip': 0.9} if m in QUANT_METHODS else {}))
                emit(key, q, dict(method=m, bits=bits, seed=seed, seconds=time.perf_counter() - t0, peak_mib=mem.mib,
                                  stage1=s1 if m in WEIGHTED else None, n_calib=a.n if calib is not None else 0,
                                  states=settings.states if m in CALIB_METHODS else None,
                                  epochs=a.epochs if m not in QUANT_METHODS else None))
    print('done', out)


if __name__ == '__main__': main()
