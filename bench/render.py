"""How long rendering model output takes: a 20 KB mixed reply, and hostile code for every highlighted
language (the per-render highlight budget should bound the latter).

    .venv/bin/python bench/render.py
"""

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "novaweb.settings")

from chat import rendering


def timed(fn, repeat=5) -> list[float]:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def main() -> None:
    block = (
        "Some **bold** and *em* text with `code`, https://example.com/x and [t](https://a.example).\n\n"
        "```python\n" + "def f(x):\n    return [i * 2 for i in range(x) if i % 3]  # c\n" * 8 + "```\n\n"
        "| a | b |\n|---|--:|\n" + "| 1 | `2` |\n" * 5 + "\n- item\n- **item**\n\n"
    )
    doc = (block * (20_000 // len(block) + 1))[:20_000]
    samples = timed(lambda: rendering.render_markdown(doc))
    print(f"20 KB mixed reply: median {statistics.median(samples):.1f} ms, max {max(samples):.1f} ms")

    alphabet = list("ab1 \n\t'\"\\/*#<>(){}[]$`@%;:=!?|&^~,._-+")
    hostile = [
        "".join(random.Random(7).choice(alphabet) for _ in range(19_000)),
        ("a = " * 20 + "\n") * 230,
        ("{-" * 30 + "\n") * 300,
        ("'" * 1900 + "\n") * 10,
    ]
    worst = []
    for lang in sorted(rendering.HIGHLIGHT_LANGUAGES):
        for code in hostile:
            samples = timed(
                lambda lang=lang, code=code: rendering.render_markdown(f"~~~{lang}\n{code}\n~~~"), repeat=1
            )
            worst.append((max(samples), lang))
    worst.sort(reverse=True)
    print(
        f"19 KB hostile code, {len(worst)} languages: slowest "
        + ", ".join(f"{lang} {ms:.0f} ms" for ms, lang in worst[:5])
    )
    print(f"highlight budget per render: {rendering.HIGHLIGHT_BUDGET_SECONDS * 1000:.0f} ms")


if __name__ == "__main__":
    main()
