#!/usr/bin/env python
"""Offline documentation for fair-calib, for machines without Quarto.

    python tools/docs.py build           # nbs/*.ipynb -> _docs/*.html (+ figures), index from nbs/index.ipynb
    python tools/docs.py readme [--check] # nbs/index.ipynb -> README.md (check: fail if README.md is stale)
    python tools/docs.py check           # fail unless every notebook has its page in _docs/

Notebooks go through nbdev's own processing (`proc_nbs`: show_doc cells executed, exported source hidden,
backtick names linked), exactly as for `nbdev-docs`; only Quarto's rendering step is replaced: Markdown by
markdown-it, LaTeX by MathML (latex2mathml, rendered natively by the browser), code by Pygments. Users with
Quarto can keep using `nbdev-docs`, which reads the same notebooks.
"""
from __future__ import annotations
import argparse, base64, html, json, os, re, shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ANSI = re.compile(r'\x1B(?:[@-Z\\-_]|\[[0-?]*[ -/]*[@-~])')


def _cfg():
    from nbdev.config import get_config
    return get_config(ROOT)


def page_name(nb: Path) -> str:
    "The html name nbdev gives a notebook: numeric prefix dropped (`00_models.ipynb` -> `models.html`)."
    from nbdev.config import nbpath2html
    return nbpath2html(Path(nb.name)).name


def notebooks(nbs_path: Path) -> list[Path]:
    "The notebooks that get a page: index first, then the rest in file order."
    nbs = sorted(p for p in nbs_path.glob('*.ipynb') if not p.name.startswith(('_', '.')))
    return sorted(nbs, key=lambda p: (p.name != 'index.ipynb', p.name))


# ---------------------------------------------------------------- markdown and math
def _math(content: str, display: bool) -> str:
    from latex2mathml.converter import convert
    tex = content.strip().replace(r'\begin{aligned}', r'\begin{align*}').replace(r'\end{aligned}', r'\end{align*}')
    try: out = convert(tex, display='block' if display else 'inline')
    except Exception as e: raise ValueError(f'cannot render LaTeX {tex!r}: {e}') from e
    return f'<div class="math display">{out}</div>' if display else out


def _slug(s: str) -> str:
    return re.sub(r'[^a-z0-9_.-]+', '-', s.strip().lower()).strip('-')


def _md():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin
    from mdit_py_plugins.anchors import anchors_plugin
    md = MarkdownIt('commonmark', {'html': True, 'typographer': False, 'highlight': _highlight_fence}).enable(['table', 'strikethrough'])
    md.use(dollarmath_plugin, allow_space=True, double_inline=True, renderer=lambda c, o: _math(c, o.get('display_mode', False)))
    md.use(anchors_plugin, min_level=1, max_level=4, slug_func=_slug)
    return md


_MD = None
def render_md(src: str, doc_url: str = '') -> str:
    "Markdown (with nbdev/Quarto extras) to HTML."
    global _MD
    _MD = _MD or _md()
    src = re.sub(r'\)\{[^}\n]*\}', ')', src)                           # pandoc link attributes {target=...}
    src = re.sub(r'^:::.*$', '', src, flags=re.M)                       # quarto fenced divs
    if doc_url: src = src.replace(doc_url.rstrip('/') + '/', '')      # nbdev's absolute doc links -> relative
    src = re.sub(r'\((?:\./)?(?:nbs/)?\d+[a-zA-Z0-9]*_([\w-]+)\.ipynb(#[^)]*)?\)', lambda m: f'({m[1]}.html{m[2] or ""})', src)
    src = re.sub(r'\.html\.md\b', '.html', src)
    src = re.sub(r'!\[([^\]]*)\]\((?!https?:)([^)\s]+\.(?:png|jpg|svg))\)', _local_image, src)
    return _MD.render(src)


LOCAL_IMAGES: set[str] = set()    # repository paths of images that markdown cells show (README-relative), copied by build()
def _local_image(m) -> str:
    "A markdown image with a repository-relative path: shown from figures/ in the site."
    LOCAL_IMAGES.add(m[2])
    return f'![{m[1]}](figures/{m[2].replace("/", "-")})'


# ---------------------------------------------------------------- cells
def _directives(src: str) -> tuple[dict, str]:
    d, body = {}, []
    for line in src.splitlines():
        m = re.match(r'^#\|\s*([\w-]+)\s*:?\s*(.*)$', line)
        if m and not body: d[m[1]] = m[2].strip().strip('"')
        else: body.append(line)
    return d, '\n'.join(body).strip('\n')


def _highlight(code: str, lang: str = 'python') -> str:
    "Code as a highlighted `<pre>` block."
    from pygments import highlight
    from pygments.lexers import get_lexer_by_name, TextLexer
    from pygments.formatters import HtmlFormatter
    try: lexer = get_lexer_by_name(lang or 'text')
    except Exception: lexer = TextLexer()
    return f'<pre class="highlight"><code>{highlight(code, lexer, HtmlFormatter(nowrap=True))}</code></pre>'


def _highlight_fence(code: str, lang: str, attrs: str) -> str: return _highlight(code.rstrip('\n'), lang)


def _text(o) -> str: return ''.join(o) if isinstance(o, list) else str(o)


def render_output(out: dict, page: str, figs: Path, n: list, doc_url: str, asis: bool) -> str:
    t = out.get('output_type')
    if t == 'stream':
        return f'<pre class="output {out.get("name", "")}">{html.escape(ANSI.sub("", _text(out.get("text", ""))))}</pre>'
    if t == 'error':
        tb = ANSI.sub('', '\n'.join(out.get('traceback', [])))
        return f'<pre class="output error">{html.escape(tb)}</pre>'
    data = out.get('data', {})
    if 'image/png' in data:
        n[0] += 1
        name = f'{page}-{n[0]}.png'
        (figs / name).write_bytes(base64.b64decode(_text(data['image/png'])))
        alt = html.escape(_text(data.get('text/plain', 'figure')))
        return f'<figure><img src="figures/{name}" alt="{alt}"></figure>'
    if 'image/svg+xml' in data: return f'<figure>{_text(data["image/svg+xml"])}</figure>'
    if 'text/html' in data: return f'<div class="output html">{_text(data["text/html"])}</div>'
    if 'text/markdown' in data:
        cls = 'doc' if asis else 'output md'
        return f'<div class="{cls}">{render_md(_text(data["text/markdown"]), doc_url)}</div>'
    if 'text/plain' in data: return f'<pre class="output">{html.escape(ANSI.sub("", _text(data["text/plain"])))}</pre>'
    return ''


def render_cell(cell: dict, page: str, figs: Path, n: list, doc_url: str) -> str:
    src = _text(cell.get('source', ''))
    if cell['cell_type'] == 'markdown': return render_md(src, doc_url)
    if cell['cell_type'] != 'code': return ''
    d, code = _directives(src)
    if d.get('include') == 'false': return ''
    parts = []
    if code.strip() and d.get('echo') != 'false':
        block = _highlight(code)
        if d.get('code-fold'):
            summary = html.escape(d.get('code-summary', 'Code'))
            block = f'<details{" open" if d["code-fold"] == "show" else ""}><summary>{summary}</summary>{block}</details>'
        parts.append(block)
    if d.get('output') != 'false':
        parts += [render_output(o, page, figs, n, doc_url, d.get('output') == 'asis') for o in cell.get('outputs', [])]
    return '\n'.join(p for p in parts if p)


def frontmatter(nb: dict) -> dict:
    "Title and description: nbdev's processed frontmatter cell, else the `# Title` / `> summary` cell."
    for c in nb['cells']:
        s = _text(c.get('source', '')).strip()
        if c['cell_type'] == 'raw' and s.startswith('---'):
            import yaml
            return yaml.safe_load(s.strip().strip('-')) or {}
        if c['cell_type'] == 'markdown' and s.startswith('# '):
            t = re.match(r'# (.*)', s)[1]
            dm = re.search(r'^> (.*)$', s, re.M)
            return {'title': t, 'description': dm[1] if dm else ''}
    return {}


# ---------------------------------------------------------------- page template
CSS = """
:root { --fg:#1d2125; --muted:#5f6b76; --accent:#2b5fad; --bg-code:#f6f8fa; --border:#dde3ea; }
* { box-sizing: border-box; }
body { margin:0; font: 16px/1.6 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); }
a { color: var(--accent); text-decoration: none; } a:hover { text-decoration: underline; }
.layout { display: grid; grid-template-columns: 250px minmax(0, 1fr); min-height: 100vh; }
nav.side { border-right: 1px solid var(--border); padding: 1.2rem 1rem; background: #fbfcfd; position: sticky; top: 0; height: 100vh; overflow-y: auto; }
nav.side .brand { font-weight: 700; font-size: 1.15rem; display: block; margin-bottom: 1rem; color: var(--fg); }
nav.side ol { list-style: none; padding: 0; margin: 0; }
nav.side li a { display: block; padding: .28rem .5rem; border-radius: 5px; color: var(--fg); font-size: .93rem; }
nav.side li a.current { background: #e7eefa; color: var(--accent); font-weight: 600; }
main { padding: 2rem 3rem 4rem; max-width: 1120px; min-width: 0; }
header.title h1 { margin-bottom: .2rem; } header.title p.desc { color: var(--muted); font-size: 1.1rem; margin-top: 0; }
h1, h2, h3, h4 { line-height: 1.25; } h2 { border-bottom: 1px solid var(--border); padding-bottom: .25rem; margin-top: 2.2rem; }
pre, code { font-family: "JetBrains Mono", Menlo, Consolas, monospace; font-size: .86rem; }
:not(pre) > code { background: var(--bg-code); padding: .1rem .3rem; border-radius: 4px; }
pre { background: var(--bg-code); padding: .7rem .9rem; border-radius: 6px; overflow-x: auto; border: 1px solid var(--border); line-height: 1.45; }
pre.output { background: #fff; border-left: 3px solid #c9d3de; max-height: 32rem; }
pre.output.error { border-left-color: #c0392b; color: #8e1f14; }
pre.output.stderr { border-left-color: #d9a400; }
details > summary { cursor: pointer; color: var(--muted); font-size: .9rem; margin: .4rem 0; }
div.doc { border: 1px solid var(--border); border-radius: 8px; padding: .2rem 1.1rem .6rem; margin: 1.4rem 0; box-shadow: 0 1px 2px rgba(0,0,0,.04); }
div.doc hr { display: none; } div.doc h3, div.doc h4 { margin-top: .8rem; font-family: Menlo, Consolas, monospace; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .92rem; } th, td { border: 1px solid var(--border); padding: .3rem .6rem; text-align: left; }
th { background: #f2f5f8; }
figure { margin: 1rem 0; } img { max-width: 100%; height: auto; }   /* figures and markdown images scale to the column */
.math.display { overflow-x: auto; overflow-y: hidden; margin: .8rem 0; } math[display="block"] { font-size: 1.08rem; }
.pager { display: flex; justify-content: space-between; border-top: 1px solid var(--border); margin-top: 3rem; padding-top: 1rem; }
blockquote { color: var(--muted); border-left: 3px solid var(--border); margin-left: 0; padding-left: 1rem; }
"""


def page_html(title: str, desc: str, body: str, nav: list[tuple[str, str]], cur: str, site: str) -> str:
    from pygments.formatters import HtmlFormatter
    items = '\n'.join(f'<li><a href="{h}"{" class=current" if h == cur else ""}>{html.escape(t)}</a></li>' for h, t in nav)
    i = [h for h, _ in nav].index(cur)
    prev = f'<a href="{nav[i-1][0]}">&larr; {html.escape(nav[i-1][1])}</a>' if i > 0 else '<span></span>'
    nxt = f'<a href="{nav[i+1][0]}">{html.escape(nav[i+1][1])} &rarr;</a>' if i + 1 < len(nav) else '<span></span>'
    head = f'<header class="title"><h1>{html.escape(title)}</h1>' + (f'<p class="desc">{html.escape(desc)}</p>' if desc else '') + '</header>'
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} – {html.escape(site)}</title>
<style>{CSS}{HtmlFormatter().get_style_defs('pre.highlight')}</style></head>
<body><div class="layout"><nav class="side"><a class="brand" href="index.html">{html.escape(site)}</a><ol>{items}</ol></nav>
<main>{head}
{body}
<div class="pager">{prev}{nxt}</div></main></div></body></html>
"""


# ---------------------------------------------------------------- commands
def build(out: Path | None = None, n_workers: int = 2) -> list[Path]:
    "Process the notebooks with nbdev and render each to `_docs/<page>.html`."
    from nbdev.quarto import refresh_quarto_yml
    from nbdev.doclinks import _build_modidx
    from nbdev.serve import proc_nbs
    cfg = _cfg()
    os.chdir(cfg.config_path)
    refresh_quarto_yml()
    _build_modidx()
    cache = proc_nbs(str(cfg.nbs_path), n_workers=n_workers)
    out = Path(out or cfg.doc_path)
    shutil.rmtree(out, ignore_errors=True)
    (out / 'figures').mkdir(parents=True)
    srcs = notebooks(cfg.nbs_path)
    nbs = {p: json.loads((cache / p.name).read_text()) for p in srcs}
    nav = [(page_name(p), frontmatter(nbs[p]).get('title', p.stem)) for p in srcs]
    written = []
    for p in srcs:
        nb, name = nbs[p], page_name(p)
        fm, n = frontmatter(nb), [0]
        cells = [c for c in nb['cells'] if not (c['cell_type'] == 'raw' and _text(c['source']).strip().startswith('---'))]
        if cells and cells[0]['cell_type'] == 'markdown' and _text(cells[0]['source']).lstrip().startswith('# '): cells = cells[1:]
        body = '\n'.join(render_cell(c, Path(name).stem, out / 'figures', n, cfg.doc_url) for c in cells)
        (out / name).write_text(page_html(fm.get('title', p.stem), fm.get('description', ''), body, nav, name, cfg.title))
        written.append(out / name)
    for img in sorted(LOCAL_IMAGES):
        src = Path(cfg.config_path) / img
        if not src.exists(): sys.exit(f'a notebook shows {img}, which does not exist in the repository')
        shutil.copy(src, out / 'figures' / img.replace('/', '-'))
    print(f'{len(written)} pages written to {out}')
    return written


def check(out: Path | None = None) -> list[str]:
    "Names of notebooks without a page in the built site."
    cfg = _cfg()
    out = Path(out or cfg.doc_path)
    return [p.name for p in notebooks(cfg.nbs_path) if not (out / page_name(p)).exists()]


def readme_text() -> str:
    "README.md from nbs/index.ipynb: markdown cells verbatim, code cells with their text outputs."
    cfg = _cfg()
    nb = json.loads((cfg.nbs_path / cfg.readme_nb).read_text())
    parts = []
    for c in nb['cells']:
        src = _text(c['source'])
        if c['cell_type'] == 'markdown': parts.append(src.strip()); continue
        if c['cell_type'] != 'code': continue
        d, code = _directives(src)
        if d.get('include') == 'false' or 'hide' in d or 'export' in d: continue
        if code.strip() and d.get('echo') != 'false': parts.append(f'```python\n{code}\n```')
        for o in c.get('outputs', []) if d.get('output') != 'false' else []:
            if o.get('output_type') == 'stream' and o.get('name') == 'stderr': continue   # progress bars and warnings
            txt = _text(o.get('text', '')) if o.get('output_type') == 'stream' else _text(o.get('data', {}).get('text/markdown', o.get('data', {}).get('text/plain', '')))
            if 'text/markdown' in o.get('data', {}): parts.append(txt.strip())
            elif txt.strip(): parts.append(f'```\n{ANSI.sub("", txt).rstrip()}\n```')
    return '\n\n'.join(p for p in parts if p) + '\n'


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest='cmd', required=True)
    b = sub.add_parser('build', help='render every notebook to _docs/*.html')
    b.add_argument('--out', type=Path, default=None)
    r = sub.add_parser('readme', help='write README.md from nbs/index.ipynb')
    r.add_argument('--check', action='store_true', help='fail if README.md differs instead of writing it')
    c = sub.add_parser('check', help='fail unless every notebook has a page')
    c.add_argument('--out', type=Path, default=None)
    a = ap.parse_args(argv)
    if a.cmd == 'build':
        build(a.out)
        missing = check(a.out)
        if missing: sys.exit(f'no page for: {", ".join(missing)}')
    elif a.cmd == 'check':
        missing = check(a.out)
        if missing: sys.exit(f'no page for: {", ".join(missing)}')
        print('every notebook has a page')
    else:
        txt, dst = readme_text(), ROOT / 'README.md'
        if a.check:
            if not dst.exists() or dst.read_text() != txt: sys.exit('README.md is stale: run `python tools/docs.py readme`')
            print('README.md is up to date')
        else:
            dst.write_text(txt); print(f'wrote {dst}')


if __name__ == '__main__':
    main()
