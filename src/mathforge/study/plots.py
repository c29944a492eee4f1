"""The study's figures: scaling curves with their fits, the transfer heatmap, the per-type bars."""

from __future__ import annotations

import math
from pathlib import Path


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # files only, never a window
    import matplotlib.pyplot as plt

    return plt


def plot_scaling(path: Path, results: dict) -> None:
    """One panel per axis: accuracy against augmented examples (log x), a line per test set with its fit."""
    plt = _pyplot()
    from matplotlib.ticker import LogLocator, NullFormatter, ScalarFormatter

    axes_fit = {a: f for a, f in results["fits"].items() if any(v for v in f.values())}
    if not axes_fit:
        return
    fig, axes = plt.subplots(1, len(axes_fit), figsize=(5.5 * len(axes_fit), 4), squeeze=False)
    for ax, (axis, per_test) in zip(axes[0], axes_fit.items(), strict=True):
        for i, (test, f) in enumerate(per_test.items()):
            if not f:
                continue
            colour = f"C{i}"
            ax.plot(f["sizes"], [100 * a for a in f["accuracy"]], "o", color=colour, label=test)
            lo_n, hi_n = min(f["sizes"]), max(f["sizes"])
            xs = [lo_n * (hi_n / lo_n) ** (j / 50) for j in range(51)]
            ax.plot(xs, [100 * (f["intercept"] + f["slope"] * math.log10(x)) for x in xs], "-", color=colour,
                    alpha=0.7, label=f"fit: {100 * f['slope']:+.1f} pts / 10x")  # fmt: skip
        ax.set_xscale("log")
        ax.xaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel(f"augmented examples ({axis} axis)")
        ax.set_ylabel("accuracy (%)")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_transfer(path: Path, results: dict) -> None:
    """Training distribution (rows) x test set (columns), accuracy in each cell."""
    transfer, tests = results["transfer"], results["tests"]
    if not transfer:
        return
    plt = _pyplot()
    names = list(transfer)
    grid = [[100 * transfer[n][t] for t in tests] for n in names]
    fig, ax = plt.subplots(figsize=(1.6 * len(tests) + 3, 0.55 * len(names) + 1.5))
    image = ax.imshow(grid, cmap="viridis", aspect="auto", vmin=0, vmax=max(1.0, max(max(r) for r in grid)))
    ax.set_xticks(range(len(tests)), tests, rotation=30, ha="right")
    ax.set_yticks(range(len(names)), [f"{n} ({transfer[n]['examples']})" for n in names])
    for i, row in enumerate(grid):
        for j, value in enumerate(row):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", color="white" if value < 50 else "black")
    fig.colorbar(image, ax=ax, label="accuracy (%)")
    ax.set_title("transfer: trained on (examples) x test set")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_types(path: Path, results: dict) -> None:
    """Per augmentation type at an equal data budget: grouped bars, one group per test set."""
    runs = [r for r in results["runs"] if r["axis"] == "type"]
    if not runs:
        return
    plt = _pyplot()
    tests = results["tests"]
    width = 0.8 / len(runs)
    fig, ax = plt.subplots(figsize=(max(5, 1.5 * len(tests) * len(runs) / 2 + 2), 4))
    for i, r in enumerate(runs):
        xs = [j + (i - (len(runs) - 1) / 2) * width for j in range(len(tests))]
        ax.bar(xs, [100 * r["accuracy"][t]["accuracy"] for t in tests], width, label=r["aug_type"])
    ax.set_xticks(range(len(tests)), tests)
    ax.set_ylabel("accuracy (%)")
    ax.set_title(f"augmentation types at an equal budget ({runs[0]['examples']} examples each)")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
