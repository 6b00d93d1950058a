"""Stage I + Stage II on a built-in model at W4A4: time, peak memory and quality of QuaRot-GPTQ, FlatQuant, FAIR-Calib
and their GPTQ variants, on the same calibration data and seeds. Writes results/calibrate-<model>.json, which
nbs/06_calibrate.ipynb shows.

    python tools/bench_calibrate.py --model small-llada [--epochs 5]
"""
from __future__ import annotations
import argparse, ctypes, json, math, platform, threading, time
from pathlib import Path

import torch

from fair_calib.calibrate import CalibConfig, calibrate
from fair_calib.evaluate import SAMPLER, heldout_prompts
from fair_calib.models import load_dllm
from fair_calib.prior import estimate_prior
from fair_calib.quant import QuantConfig, calibration_ids, quantize
from fair_calib.sampling import generate
from fair_calib.stability import frontier_flips
from fair_calib.train import elbo_nats, read_domain, token_stream



class PeakRSS:
    """Peak resident memory (MiB) above the level at entry.

    At entry freed heap memory is returned to the OS (glibc `malloc_trim`) and the kernel's high-water mark is reset
    (`/proc/self/clear_refs`), so that memory a process freed earlier and would reuse does not hide the block's peak;
    the peak is the kernel's VmHWM at exit (sampled every 10 ms instead where it cannot be reset). Exact in a fresh process
    (tools/bench_memory.py); in a long-running one, heap fragments that cannot be returned still make it a lower bound."""
    def __enter__(self):
        _trim()
        self.hwm = _reset_hwm()
        self.base = self.peak = self._rss(); self.stop = False
        self.t = None if self.hwm else threading.Thread(target=self._run, daemon=True)   # sample only without VmHWM
        if self.t: self.t.start()
        return self
    def _run(self):
        while not self.stop: self.peak = max(self.peak, self._rss()); time.sleep(0.01)
    def __exit__(self, *a):
        self.stop = True
        if self.t: self.t.join()
        else: self.peak = max(self.peak, _status('VmHWM'))
    @property
    def mib(self) -> float: return (self.peak - self.base) / 2 ** 20
    @staticmethod
    def _rss() -> int: return _status('VmRSS')


def done_keys(out: Path) -> set[str]:
    "Keys of the rows already in a resumable JSON-lines results file (its directory is created): the rows a rerun skips."
    out.parent.mkdir(parents=True, exist_ok=True)
    return {json.loads(l)['key'] for l in out.read_text().splitlines()} if out.exists() else set()

def append_row(out: Path, row: dict):
    "Append one finished row to a JSON-lines results file."
    with out.open('a') as f: f.write(json.dumps(row) + '\n')


def _status(field: str) -> int:
    "A memory field of /proc/self/status in bytes."
    for line in open('/proc/self/status'):
        if line.startswith(field + ':'): return int(line.split()[1]) * 1024
    raise KeyError(field)


def _trim():
    "Return the heap's free memory to the OS (glibc only; a no-op elsewhere)."
    try: ctypes.CDLL('libc.so.6').malloc_trim(0)
    except (OSError, AttributeError): pass


def _reset_hwm() -> bool:
    "Reset the kernel's peak-RSS counter of this process (Linux >= 4.0); False where not allowed."
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError: return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--model', default='small-llada')
    ap.add_argument('--epochs', type=int, default=5)
    ap.add_argument('--n', type=int, default=128, help='calibration sequences')
    ap.add_argument('--seq-len', type=int, default=128)
    ap.add_argument('--gen-length', type=int, default=64)
    ap.add_argument('--methods', nargs='+', default=['quarot-gptq', 'flatquant', 'fair', 'flatquant-gptq', 'fair-gptq'])
    ap.add_argument('--out', type=Path, default=None)
    a = ap.parse_args()
    out = a.out or Path('results') / f'calibrate-{a.model}.json'
    torch.manual_seed(0)
    fp = load_dllm(a.model)
    sk = SAMPLER[fp.arch] | dict(gen_length=a.gen_length, steps=a.gen_length)
    cfg = QuantConfig.named('w4a4', learn_w_clip=True, learn_a_clip=True)
    settings = CalibConfig(epochs=a.epochs, gen_length=a.gen_length, block_length=sk.get('block_length'))
    calib = calibration_ids(fp, n=a.n, seq_len=a.seq_len, seed=0)
    # evaluation: held-out ELBO and frontier flips along FP rollouts of held-out prompts
    streams = {d: token_stream(fp.tokenizer, read_domain(d)['heldout']) for d in ('gsm8k', 'shakespeare')}
    ppl = lambda m: {d: math.exp(elbo_nats(m, s, seq_len=256, n_seq=32, n_mc=4)[0]) for d, s in streams.items()}
    prompts = heldout_prompts(fp.tokenizer, n=8, max_len=48)
    _, traces = generate(fp, prompts, trace=True, **sk)

    def row(method, q, seconds, mib, **extra):
        r = dict(method=method, **ppl(q), **frontier_flips(fp, q, traces).rates(), seconds=seconds, peak_mib=mib, **extra)
        print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()}), flush=True)
        return r

    rows = [row('fp', fp, 0., 0.)]
    t0 = time.perf_counter()
    with PeakRSS() as mem:
        prior = estimate_prior(fp, calibration_ids(fp, n=64, seq_len=a.seq_len - a.gen_length, seed=1), batch_size=16, **sk)
    stage1 = dict(seconds=time.perf_counter() - t0, peak_mib=mem.mib, w_min=prior.w.min().item(), w_max=prior.w.max().item())
    print('stage I', stage1, flush=True)
    for method in a.methods:
        t0 = time.perf_counter()
        with PeakRSS() as mem:
            if method.startswith('quarot'): q = quantize(fp, method, QuantConfig.named('w4a4', a_clip=0.9), calib=calib, progress=False)
            else: q = calibrate(fp, method, cfg, calib, prior if method.startswith('fair') else None, settings, progress=False)
        rows.append(row(method, q, time.perf_counter() - t0, mem.mib, losses=q.quant.get('losses')))
        write(out, a, stage1, rows, prior, done=len(rows) == len(a.methods) + 1)     # after every method: partial results survive
    print('written', out)


def write(out: Path, a, stage1: dict, rows: list, prior, done: bool):
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(dict(model=a.model, args={k: str(v) for k, v in vars(a).items()}, complete=done, stage1=stage1,
                                   rows=rows, prior_w=prior.w.tolist(), torch=torch.__version__, threads=torch.get_num_threads(),
                                   machine=platform.processor() or platform.machine()), indent=1) + '\n')


if __name__ == '__main__':
    main()
