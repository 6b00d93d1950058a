"""Full-width run on the CPU: LLaDA-8B's or Dream-7B's exact block and vocabulary shapes with a few layers, random
weights in bf16. Stage I on one prompt, Stage II (`fair` or `fair-gptq`) in place for one epoch on 8 windows of 256
tokens, save packed, load into the integer runtime and run one canvas. Prints and appends to results/scale.jsonl, per
stage: peak RSS (VmHWM, reset between stages), seconds; per block: seconds and peak RSS, and per phase of the block
(calibrate's `on_phase`: targets, prepare, train, gptq, freeze) its RSS at the start and its peak; and the bytes
`plan()` predicts for each buffer.

    python tools/bench_scale.py --arch llada --layers 2 --method fair
    python tools/bench_scale.py --arch llada --layers 4 --method fair-gptq
    python tools/bench_scale.py --arch dream --layers 2 --method fair
"""
import argparse, json, os, platform, shutil, sys, tempfile, time

if 'MALLOC_MMAP_THRESHOLD_' not in os.environ:     # glibc reads it at start: re-exec with it set
    # glibc's heap keeps freed tensors of up to 32 MB resident (its dynamic mmap threshold), so the RSS of a long run
    # grows far beyond its live tensors (measured: 4.0 GB peak and 3.5 GB retained after one block's training, against
    # 1.8 GB and 0.96 GB with this setting). With allocations from 128 KiB mmapped, the RSS follows what is allocated.
    os.execve(sys.executable, [sys.executable] + sys.argv, dict(os.environ, MALLOC_MMAP_THRESHOLD_='131072'))
from dataclasses import asdict
from pathlib import Path

os.environ.setdefault('HF_HUB_OFFLINE', '1')
import torch

from fair_calib.calibrate import CalibConfig, calibrate, plan
from fair_calib.models import block_linears, init_dllm, set_block_linear
from fair_calib.prior import estimate_prior
from fair_calib.quant import load_quantized, save_quantized
from fair_calib.quantizer import QuantConfig, QuantLinear

SIZES = dict(llada='8b', dream='7b')
MiB = 2 ** 20


def _status(key: str) -> int:
    "A VmXXX line of /proc/self/status, in bytes."
    for line in open('/proc/self/status'):
        if line.startswith(key + ':'): return int(line.split()[1]) * 1024
    raise RuntimeError(f'no {key} in /proc/self/status (Linux only)')


def reset_peak():
    "Reset VmHWM to the current RSS (Linux: write 5 to clear_refs)."
    with open('/proc/self/clear_refs', 'w') as f: f.write('5')


class Stage:
    "Context: seconds and peak RSS of a stage, VmHWM reset on entry."
    def __init__(self, name: str, log: dict): self.name, self.log = name, log
    def __enter__(self):
        reset_peak(); self.t0 = time.perf_counter(); return self
    def __exit__(self, *exc):
        if exc[0] is not None: return False
        r = dict(seconds=round(time.perf_counter() - self.t0, 1), peak_rss_mib=round(_status('VmHWM') / MiB),
                 rss_after_mib=round(_status('VmRSS') / MiB))
        self.log[self.name] = r
        print(f"{self.name:12s} {r['seconds']:8.1f} s   peak RSS {r['peak_rss_mib']:7d} MiB   after {r['rss_after_mib']:7d} MiB", flush=True)


def build(arch: str, layers: int, seed: int = 0):
    "The random model at full width, made directly in bf16 (no fp32 copy)."
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.bfloat16)
    try: return init_dllm(arch, SIZES[arch], seed=seed, dtype=torch.bfloat16, **{('n_layers' if arch == 'llada' else 'num_hidden_layers'): layers})
    finally: torch.set_default_dtype(old)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--arch', choices=tuple(SIZES), default='llada')
    ap.add_argument('--layers', type=int, default=2)
    ap.add_argument('--size', default=None, help="a named size (default: the published model's, 8b / 7b)")
    ap.add_argument('--method', choices=('fair', 'fair-gptq'), default='fair')
    ap.add_argument('--windows', type=int, default=8)
    ap.add_argument('--seq-len', type=int, default=256)
    ap.add_argument('--gen-length', type=int, default=32)
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--micro-batch', type=int, default=1, help='states per forward/backward of a training step (of 4): activation memory')
    ap.add_argument('--fp-compute', choices=('model', 'float32'), default='float32',
                    help="dtype the FP blocks compute Stage II's targets in: float32 here (this CPU's bf16 GEMM is 8x slower), "
                         "'model' for bf16 as on a GPU")
    ap.add_argument('--out', type=Path, default=Path(__file__).resolve().parents[1] / 'results' / 'scale.jsonl')
    a = ap.parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.size: SIZES[a.arch] = a.size
    log, blocks = {}, []
    base = _status('VmRSS')
    with Stage('build', log):
        dllm = build(a.arch, a.layers)
    model_bytes = sum(t.numel() * t.element_size() for t in [*dllm.model.parameters(), *dllm.model.buffers()])
    block_bytes = sum(t.numel() * t.element_size() for t in dllm.blocks[0].parameters())
    g = torch.Generator().manual_seed(0)
    V = dllm.mask_id
    calib = torch.randint(0, V, (a.windows, a.seq_len), generator=g)
    settings = CalibConfig(epochs=1, batch_size=4, micro_batch=a.micro_batch, forward_batch=4, gen_length=a.gen_length)
    cfg = QuantConfig(learn_w_clip=True, learn_a_clip=True)
    print(f"{a.arch} {SIZES[a.arch]} widths, {a.layers} layers, bf16: {model_bytes / MiB:.0f} MiB "
          f"(a block {block_bytes / MiB:.0f} MiB); process before the model {base / MiB:.0f} MiB", flush=True)
    if a.fp_compute == 'float32':                                    # bf16 weights, fp32 arithmetic (fair_calib.blockpass.block_home):
        for i, b in enumerate(dllm.blocks):                          # a 16-bit QuantLinear is the linear, casting its weight per call
            for r, lin in block_linears(dllm, i).items(): set_block_linear(dllm, i, r, QuantLinear(lin))
            b.compute_dtype = torch.float32
    with Stage('stage I', log):
        prompt = torch.randint(0, V, (1, 16), generator=g)
        prior = estimate_prior(dllm, prompt, gen_length=a.gen_length, steps=4, progress=False)
    t_last, phases, current, stage_peak = [time.perf_counter()], {}, [None], [0]
    def close_phase():
        "Peak RSS and seconds of the phase that is ending (VmHWM was reset when it began); the stage's peak so far."
        hwm = _status('VmHWM'); stage_peak[0] = max(stage_peak[0], hwm)
        if current[0] is not None:
            name, t0, rss0 = current[0]
            phases[name] = dict(peak_rss_mib=round(hwm / MiB), start_rss_mib=round(rss0 / MiB), seconds=round(time.perf_counter() - t0, 1))
    def on_phase(i, name):
        close_phase(); reset_peak(); current[0] = (name, time.perf_counter(), _status('VmRSS'))
    def on_block(i, ep):
        close_phase(); current[0] = None
        blocks.append(dict(block=i, seconds=round(time.perf_counter() - t_last[0], 1), peak_rss_mib=max(p['peak_rss_mib'] for p in phases.values()),
                           phases=dict(phases), loss_before=ep['before'], loss_after=ep['after']))
        by_phase = ', '.join(f"{k} {v['peak_rss_mib']}" for k, v in phases.items())
        print(f"  block {i}: {blocks[-1]['seconds']:.1f} s, peak RSS {blocks[-1]['peak_rss_mib']} MiB ({by_phase}), "
              f"loss {ep['before']:.3e} -> {ep['after']:.3e}", flush=True)
        phases.clear(); t_last[0] = time.perf_counter()
    with Stage('stage II', log):
        t_last[0] = time.perf_counter()
        q = calibrate(dllm, a.method, cfg, calib, prior=prior, settings=settings, on_block=on_block, on_phase=on_phase, progress=False,
                      inplace=True)
    log['stage II']['peak_rss_mib'] = max(log['stage II']['peak_rss_mib'], round(stage_peak[0] / MiB))   # VmHWM was reset per phase
    print(f"stage II peak RSS over its phases {log['stage II']['peak_rss_mib']} MiB", flush=True)
    del dllm
    d = Path(tempfile.mkdtemp(prefix='scale-'))
    try:
        with Stage('save', log): save_quantized(q, d)
        ck_bytes = (d / 'model.safetensors').stat().st_size
        del q
        with Stage('load int', log): qi = load_quantized(d, runtime='int', store='int4')
        with Stage('run int', log):
            with torch.no_grad(): qi.logits(torch.randint(0, V, (1, a.seq_len), generator=g))
    finally: shutil.rmtree(d)
    p = plan(build_config(a.arch, a.layers), settings, n_windows=a.windows, seq_len=a.seq_len, method=a.method, dtype=torch.bfloat16,
             inplace=True, fp_compute=torch.float32 if a.fp_compute == 'float32' else None)
    rec = dict(arch=a.arch, size=SIZES[a.arch], layers=a.layers, method=a.method, windows=a.windows, seq_len=a.seq_len,
               threads=a.threads, fp_compute=a.fp_compute, model_mib=round(model_bytes / MiB), block_mib=round(block_bytes / MiB),
               base_rss_mib=round(base / MiB), checkpoint_mib=round(ck_bytes / MiB), stages=log, blocks=blocks,
               stage2_peak_over_model=round(log['stage II']['peak_rss_mib'] * MiB / model_bytes, 3),
               plan={k: round(v / MiB) for k, v in p['bytes'].items()}, plan_peak_mib=round(p['peak_bytes'] / MiB),
               settings=asdict(settings), command='python tools/bench_scale.py ' + ' '.join(sys.argv[1:] if argv is None else argv),
               machine=dict(cpu=platform.processor() or platform.machine(), torch=torch.__version__),
               malloc_mmap_threshold=int(os.environ['MALLOC_MMAP_THRESHOLD_']),
               date=time.strftime('%Y-%m-%d'), commit=_commit())
    print(json.dumps({k: rec[k] for k in ('stage2_peak_over_model', 'plan', 'plan_peak_mib')}), flush=True)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    with open(a.out, 'a') as f: f.write(json.dumps(rec) + '\n')


def _commit() -> str | None:
    "The repository's commit (with '+' when the working tree differs), or None outside a git checkout."
    import subprocess
    git = lambda *c: subprocess.run(['git', *c], capture_output=True, text=True, cwd=Path(__file__).parent)
    r = git('rev-parse', '--short', 'HEAD')
    if r.returncode: return None
    return r.stdout.strip() + ('+' if git('status', '--porcelain', '--untracked-files=no').stdout.strip() else '')


def build_config(arch: str, layers: int):
    from fair_calib.models import make_config
    return make_config(arch, SIZES[arch], **{('n_layers' if arch == 'llada' else 'num_hidden_layers'): layers})


if __name__ == '__main__': main()
