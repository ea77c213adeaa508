#!/usr/bin/env python3
"""Plot Galaxy's simulated planetary orbits to docs/orbits.png.

Run from anywhere (needs matplotlib and numpy: `pip install matplotlib`):

    python3 tools/plot_orbits.py [path-to-galaxy-server]

The binary defaults to target/release/galaxy-server, then
$CARGO_TARGET_DIR/{release,debug}/galaxy-server, then
~/.cache/galaxy-target/{release,debug}/galaxy-server.

Each sample is one `galaxy-server simulate --start-epoch T --days 0 --json`
run, i.e. the N-body + 1PN state integrated from the DE421 J2000 state to T
days after J2000 (bit-identical to `--start-epoch 0 --days T`, minus the
ship loop). The runs are independent, so they go in parallel. Each sample
carries positions and velocities, so the traces between samples are cubic
Hermite curves: smooth, and exact at every simulated state.

Left panel: Mercury..Mars over 2 years, sampled every 10 days. Right panel:
Jupiter..Neptune over 12 years (about one Jupiter orbit), every 60 days.
Both are top-down views of the ICRF X-Y plane, in AU.
"""
import concurrent.futures
import datetime
import json
import os
import pathlib
import subprocess
import sys
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.collections import LineCollection

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "orbits.png"
AU = 149_597_870_700.0  # m
DAY = 86_400.0  # s
J2000 = datetime.datetime(2000, 1, 1, 12)  # TDB, close enough for a caption

INNER = ["Mercury", "Venus", "Earth", "Mars"]
OUTER = ["Jupiter", "Saturn", "Uranus", "Neptune"]
INNER_DAYS, INNER_STEP = 730, 10
OUTER_DAYS, OUTER_STEP = 4380, 60
BG = "#05070d"


def find_binary():
    """The galaxy-server binary: argv[1] or the first one built."""
    if len(sys.argv) > 1:
        return pathlib.Path(sys.argv[1])
    dirs = [ROOT / "target"]
    if os.environ.get("CARGO_TARGET_DIR"):
        dirs.append(pathlib.Path(os.environ["CARGO_TARGET_DIR"]))
    dirs.append(pathlib.Path.home() / ".cache" / "galaxy-target")
    for d in dirs:
        for profile in ("release", "debug"):
            if (d / profile / "galaxy-server").is_file():
                return d / profile / "galaxy-server"
    sys.exit("plot_orbits: no galaxy-server binary found; pass its path")


def simulate(binary, epoch):
    """{name: (position, velocity)} in metres and m/s, `epoch` days after J2000."""
    out = subprocess.run(
        [str(binary), "simulate", "--start-epoch", str(epoch), "--days", "0", "--json"],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout
    return {b["name"]: (np.array(b["position_m"]), np.array(b["velocity_m_s"]))
            for b in json.loads(out)["bodies"]}


def hermite(epochs, states, name, per_step=24):
    """A smooth X-Y trace (AU) through the sampled states of one body."""
    t = np.asarray(epochs, float) * DAY
    p = np.array([states[e][name][0] for e in epochs])
    v = np.array([states[e][name][1] for e in epochs])
    s = np.linspace(0.0, 1.0, per_step, endpoint=False)[:, None]
    h00, h10 = 2 * s**3 - 3 * s**2 + 1, s**3 - 2 * s**2 + s
    h01, h11 = -2 * s**3 + 3 * s**2, s**3 - s**2
    pieces = [h00 * p[i] + h10 * (t[i + 1] - t[i]) * v[i]
              + h01 * p[i + 1] + h11 * (t[i + 1] - t[i]) * v[i + 1]
              for i in range(len(t) - 1)]
    return np.vstack(pieces + [p[-1:]])[:, :2] / AU


def fading_line(ax, xy, color, width):
    """The trace, fading in from the start epoch to the final one."""
    segs = np.stack([xy[:-1], xy[1:]], axis=1)
    alpha = np.linspace(0.08, 1.0, len(segs))
    rgba = np.column_stack([np.tile(color, (len(segs), 1)), alpha])
    ax.add_collection(LineCollection(segs, colors=rgba, linewidths=width,
                                     capstyle="round"))


def glow_dot(ax, xy, color, size, label=None, zorder=5):
    for scale, alpha in ((9, 0.06), (4, 0.15), (1.8, 0.35)):
        ax.scatter(*xy, s=size * scale, color=color, alpha=alpha, lw=0, zorder=zorder)
    ax.scatter(*xy, s=size, color=color, lw=0, zorder=zorder + 1)
    if label:
        ax.annotate(label, xy, xytext=(7, 5), textcoords="offset points",
                    color=color, fontsize=9, zorder=zorder + 1)


def panel(ax, states, colors, names, days, step, limit, title, sun_size):
    epochs = list(range(0, days + 1, step))
    rng = np.random.default_rng(len(names) + days)  # a fixed, faint starfield
    stars = rng.uniform(-limit, limit, (260, 2))
    ax.scatter(*stars.T, s=rng.uniform(0.1, 1.6, 260), color="white",
               alpha=0.35, lw=0, zorder=0)
    for name in names:
        fading_line(ax, hermite(epochs, states, name), colors[name], 1.4)
        glow_dot(ax, states[days][name][0][:2] / AU, colors[name], 22, name)
    glow_dot(ax, states[days]["Sun"][0][:2] / AU, colors["Sun"], sun_size, "Sun")
    end = (J2000 + datetime.timedelta(days=days)).strftime("%Y-%m-%d")
    ax.set_title(f"{title}\nJ2000 to {end} ({days} d, a sample every {step} d)",
                 color="#c9d1e0", fontsize=11)
    ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal",
           facecolor=BG, xlabel="X (AU, ICRF)", ylabel="Y (AU, ICRF)")
    ax.grid(color="#1b2233", lw=0.6, zorder=-1)
    ax.tick_params(colors="#7d8799", labelsize=8)
    ax.xaxis.label.set_color("#9aa4b5")
    ax.yaxis.label.set_color("#9aa4b5")
    for spine in ax.spines.values():
        spine.set_color("#2a3346")


def main():
    binary = find_binary()
    config = json.loads((ROOT / "config" / "ephemeris-j2000.json").read_text())
    colors = {b["name"]: b["color"] for b in config["bodies"]}

    epochs = sorted(set(range(0, INNER_DAYS + 1, INNER_STEP))
                    | set(range(0, OUTER_DAYS + 1, OUTER_STEP)), reverse=True)
    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        states = dict(zip(epochs, pool.map(lambda e: simulate(binary, e), epochs)))
    print(f"{len(epochs)} simulate runs of {binary} in {time.monotonic() - started:.1f} s")

    fig, (inner, outer) = plt.subplots(1, 2, figsize=(12, 7), dpi=100, facecolor=BG)
    panel(inner, states, colors, INNER, INNER_DAYS, INNER_STEP, 1.75,
          "Inner planets", 70)
    panel(outer, states, colors, OUTER, OUTER_DAYS, OUTER_STEP, 32,
          "Outer planets", 30)
    fig.suptitle("Galaxy: the Solar System simulated from the JPL DE421 J2000 state"
                 " (N-body + 1PN)", color="white", fontsize=14, y=0.97)
    fig.subplots_adjust(left=0.06, right=0.98, bottom=0.08, top=0.86, wspace=0.18)
    OUT.parent.mkdir(exist_ok=True)
    fig.savefig(OUT, facecolor=BG)
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1024:.0f} KB)")


if __name__ == "__main__":
    main()
