#!/usr/bin/python3
"""CDF plots of the time without a leader, in the layout of Figure 16 of the
Raft paper: the top panel varies the randomness of the election timeout, the
bottom panel scales it. Reads the CSVs raft_election wrote under RESULTS and
writes PNGs beside them.

usage: plot.py RESULTS_DIR
"""
import csv
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOP = ["150-150", "150-151", "150-155", "150-175", "150-200", "150-300"]
BOTTOM = ["12-24", "25-50", "50-100", "100-200", "150-300"]
MODE_TITLES = {
    "original": "original Raft (no PreVote)",
    "prevote": "with PreVote",
    "prevote-cq": "with PreVote and CheckQuorum",
}
TIMING_TITLES = {
    "disk-bound": "LAN + 5-15 ms fsync",
    "network-bound": "7 ms one-way network + 1 ms fsync",
}
# The points the paper quotes (section 9.3), drawn as black markers.
PAPER_POINTS = {
    "150-155": [(287, 0.5, "paper 150-155: median 287 ms")],
    "150-200": [(513, 1.0, "paper 150-200: worst 513 ms")],
    "12-24": [(35, None, "paper 12-24: mean 35 ms"), (152, 1.0, "paper 12-24: worst 152 ms")],
}


def load(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    times = sorted(float(r["leaderless_ms"]) for r in rows)
    capped = sum(int(r["capped"]) for r in rows)
    return times, capped


def cdf_panel(ax, mode_dir, lines, log_x, title):
    colors = plt.cm.tab10.colors
    longest = 0.0
    for line, color in zip(lines, colors):
        path = os.path.join(mode_dir, line + ".csv")
        if not os.path.exists(path):
            continue
        times, capped = load(path)
        if not times:
            ax.plot([], [], color=color, label=f"{line} ms (no stable leader to crash)")
            continue
        n = len(times)
        longest = max(longest, times[-1])
        ys = [(i + 1) / n for i in range(n)]
        label = f"{line} ms"
        if capped:
            label += f" ({capped} capped)"
        ax.step(times, ys, where="post", color=color, linewidth=1.6, label=label)
        for x, y, text in PAPER_POINTS.get(line, []):
            if y is None:
                ax.axvline(x, color=color, linestyle=":", linewidth=1.2)
                ax.annotate(text, (x, 0.35), rotation=90, fontsize=7, ha="right", va="bottom", color="black")
            else:
                ax.plot([x], [y], marker="x", color="black", markersize=8, markeredgewidth=2)
                ax.annotate(text, (x, y), xytext=(6, -12), textcoords="offset points", fontsize=7)
    if log_x:
        ax.set_xscale("log")
        ax.set_xlim(80, 100000)
        ax.set_xlabel("time without leader (ms, log scale)")
    else:
        # Linear like the paper's bottom graph (0-600 ms), widened if our
        # tail is longer.
        ax.set_xlim(0, max(600, 100 * (int(longest) // 100 + 1)))
        ax.set_xlabel("time without leader (ms)")
    ax.set_ylim(0, 1.02)
    ax.set_ylabel("cumulative fraction of trials")
    ax.set_title(title, fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, title="election timeout", title_fontsize=8)


def figure(results, timing, mode):
    mode_dir = os.path.join(results, timing, mode)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(8, 9))
    cdf_panel(top, mode_dir, TOP, True, "varying the randomness of the election timeout")
    cdf_panel(bottom, mode_dir, BOTTOM, False, "scaling the minimum election timeout")
    fig.suptitle(
        "Raft Figure 16 in the Sluice simulator: 5 servers, leader crashed\n"
        f"{MODE_TITLES[mode]}; {TIMING_TITLES.get(timing, timing)}; 1 tick = 1 ms",
        fontsize=11,
    )
    fig.tight_layout()
    out = os.path.join(results, f"figure16-{timing}-{mode}.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def comparison(results, timing, lines):
    fig, ax = plt.subplots(figsize=(8, 5))
    colors = plt.cm.tab10.colors
    for i, line in enumerate(lines):
        for mode, style in (("original", "-"), ("prevote", "--")):
            path = os.path.join(results, timing, mode, line + ".csv")
            if not os.path.exists(path):
                continue
            times, _ = load(path)
            n = len(times)
            ax.step(times, [(k + 1) / n for k in range(n)], where="post", color=colors[i], linestyle=style,
                    linewidth=1.6, label=f"{line} ms, {mode}")
    ax.set_xscale("log")
    ax.set_xlim(10, 100000)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("time without leader (ms, log scale)")
    ax.set_ylabel("cumulative fraction of trials")
    ax.set_title(f"PreVote (dashed) against original Raft (solid); {TIMING_TITLES.get(timing, timing)}", fontsize=10)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8, ncol=2)
    fig.tight_layout()
    out = os.path.join(results, f"prevote-vs-original-{timing}.png")
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    results = sys.argv[1]
    written = []
    for timing in sorted(os.listdir(results)):
        tdir = os.path.join(results, timing)
        if not os.path.isdir(tdir):
            continue
        for mode in MODE_TITLES:
            if os.path.isdir(os.path.join(tdir, mode)):
                written.append(figure(results, timing, mode))
        written.append(comparison(results, timing, ["150-150", "150-155", "150-300", "12-24"]))
    for path in written:
        print("wrote", path)


if __name__ == "__main__":
    main()
