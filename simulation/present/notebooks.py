"""Render the notebooks, executed, to self-contained HTML pages (``make docs``).

    python -m simulation.present.notebooks notebooks/*.ipynb --out docs/notebooks

Each notebook is executed in a fresh kernel (nbclient, as the test suite's
nbmake does), from a temporary folder, which also checks that it runs from
any working directory; its text, code and outputs (text, tables, figures
embedded as PNG) become one HTML page, with an ``index.html`` listing them.
The pages are build products: ``docs/notebooks/`` is not committed.
"""

from __future__ import annotations

import argparse
import html
import sys
import tempfile
import time
from pathlib import Path

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;color:#1a1a1a;margin:0;background:#fff}
main{max-width:1050px;margin:0 auto;padding:24px 28px 60px;line-height:1.5}
pre{background:#f6f8fa;padding:10px 12px;overflow-x:auto;font-size:.85em;border-radius:4px}
pre.out{background:#fff;border-left:3px solid #ddd}
img{max-width:100%;height:auto}table{border-collapse:collapse;font-size:.85em}
th,td{padding:3px 8px;border-bottom:1px solid #e5e5e5;text-align:right}th{background:#f6f6f6}
.error{background:#fdecea;border-left:4px solid #D55E00}
blockquote{border-left:4px solid #E69F00;margin:0;padding:2px 14px;background:#fff8e6}
"""


def _markdown(text: str) -> str:
    import markdown

    return markdown.markdown(text, extensions=["tables", "fenced_code"])


def _outputs(cell) -> str:
    out = []
    for o in cell.get("outputs", []):
        kind = o.get("output_type")
        if kind == "stream":
            out.append(f"<pre class='out'>{html.escape(''.join(o.get('text', '')))}</pre>")
        elif kind in ("execute_result", "display_data"):
            data = o.get("data", {})
            if "image/png" in data:
                png = data["image/png"]
                png = png if isinstance(png, str) else "".join(png)
                out.append(f"<img src='data:image/png;base64,{png.strip()}' alt='figure'>")
            elif "text/html" in data:
                out.append("".join(data["text/html"]))
            elif "text/markdown" in data:
                out.append(_markdown("".join(data["text/markdown"])))
            elif "text/plain" in data:
                out.append(f"<pre class='out'>{html.escape(''.join(data['text/plain']))}</pre>")
        elif kind == "error":
            out.append(f"<pre class='out error'>{html.escape(o.get('ename', ''))}: {html.escape(o.get('evalue', ''))}</pre>")
    return "\n".join(out)


def render(nb, title: str) -> str:
    """One self-contained HTML page of an executed notebook."""
    body = []
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            body.append(_markdown(cell.source))
        elif cell.cell_type == "code":
            body.append(f"<pre><code>{html.escape(cell.source)}</code></pre>")
            body.append(_outputs(cell))
    return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body><main>\n" + "\n".join(body) + "\n</main></body></html>\n")


def execute(path: Path, timeout: int = 900):
    """The notebook at ``path``, executed in a fresh kernel from a temporary folder."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory(prefix="bordersim-nb-") as cwd:
        NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": cwd}}).execute()
    return nb


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simulation.present.notebooks", description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", type=Path, nargs="+", help="notebook files (.ipynb)")
    parser.add_argument("--out", type=Path, default=Path("docs/notebooks"), help="folder for the HTML pages")
    args = parser.parse_args(argv)
    from ..files import write_atomic

    args.out.mkdir(parents=True, exist_ok=True)
    links = []
    for path in sorted(args.notebooks):
        t0 = time.perf_counter()
        nb = execute(path)
        title = next((c.source.lstrip("# ").split("\n")[0] for c in nb.cells if c.cell_type == "markdown"), path.stem)
        target = args.out / f"{path.stem}.html"
        write_atomic(target, render(nb, title).encode())
        links.append(f"<li><a href='{target.name}'>{html.escape(title)}</a> <small>({path.name})</small></li>")
        print(f"{path}: executed in {time.perf_counter() - t0:.0f} s, wrote {target}", flush=True)
    index = ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'><title>bordersim notebooks</title>"
             f"<style>{_CSS}</style></head><body><main><h1>bordersim notebooks</h1>"
             "<p>Executed by <code>make docs</code>; every page holds its figures.</p><ul>"
             + "".join(links) + "</ul></main></body></html>\n")
    write_atomic(args.out / "index.html", index.encode())
    print(f"wrote {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
