#!/usr/bin/env python3
"""Rejects what would make core/ nondeterministic or not sans-IO.

DESIGN section 2: nothing in core/ may read a real clock, spawn a thread,
take a lock, use unseeded or library-version-dependent randomness, read the
environment, or iterate an unordered container. Comments and string
literals are ignored. A line may opt out of one rule with a trailing
comment `// lint: allow <rule> (<why>)`, which reviewers can grep for.

Usage: tools/lint-core.py [DIR ...]   (default: core)
Exit status: 0 clean, 1 findings, 2 usage error.
"""
import os
import re
import sys

RULES = [
    ("clock", re.compile(r"\b(system_clock|steady_clock|high_resolution_clock|utc_clock|file_clock)\b"
                         r"|\bclock_gettime\s*\(|\bgettimeofday\s*\(|(?<![\w.>])time\s*\(|\bclock\s*\(\s*\)"),
     "reads a real clock; take time as an input (Timestamp) instead"),
    ("thread", re.compile(r"\bstd::(thread|jthread|async)\b|\bpthread_\w+"),
     "spawns a thread; the core is single-threaded"),
    ("lock", re.compile(r"\bstd::(mutex|recursive_mutex|shared_mutex|timed_mutex|condition_variable\w*|"
                        r"lock_guard|unique_lock|scoped_lock|atomic\w*)\b"),
     "takes a lock or uses atomics; the core is single-threaded"),
    ("random", re.compile(r"\brandom_device\b|(?<![\w.>])s?rand\s*\(|\bstd::(mt19937\w*|minstd_rand\w*|"
                          r"default_random_engine|ranlux\w+|knuth_b|\w+_distribution)\b"),
     "unseeded or library-dependent randomness; use sluice::Rng and our distributions"),
    ("env", re.compile(r"\b(getenv|secure_getenv|setenv)\s*\("),
     "reads the environment; pass options instead"),
    ("unordered", re.compile(r"\bunordered_(map|set|multimap|multiset)\b"),
     "unordered containers iterate in an unspecified order; use std::map/std::set"),
    ("io", re.compile(r"\b(fopen|freopen|fread|fwrite|socket|mmap|epoll_\w+)\s*\(|\bstd::(ifstream|ofstream|fstream)\b"
                      r"|(?<![\w>.])::(open|read|write|send|recv|connect|fsync|fdatasync)\s*\("),
     "does IO; the core only computes and returns an Output"),
]

# Headers a core file may include: its own, and the standard library minus
# the ones whose only purpose is what the rules above forbid.
FORBIDDEN_HEADERS = {"thread", "mutex", "shared_mutex", "condition_variable", "future", "atomic",
                     "random", "chrono", "ctime", "time.h", "fstream", "filesystem", "unistd.h"}
INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
ALLOW = re.compile(r"//\s*lint:\s*allow\s+(\w+)")


def strip_comments_and_strings(text):
    """Blanks out comments and string/char literals, keeping line numbers."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c == 'R' and text.startswith('R"', i):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if not m:
                out.append(c)
                i += 1
                continue
            end = ")" + m.group(1) + '"'
            j = text.find(end, i)
            j = n if j < 0 else j + len(end)
            out.append("".join("\n" if ch == "\n" else " " for ch in text[i:j]))
            i = j
        elif c in "\"'":
            j = i + 1
            while j < n and text[j] != c and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            out.append(c + " " * (min(j, n) - i - 1) + (c if j < n else ""))
            i = j + 1
        else:
            out.append(c)
            i += 1
    return "".join(out)


def lint_file(path):
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    raw_lines = raw.split("\n")
    code_lines = strip_comments_and_strings(raw).split("\n")
    findings = []
    for number, (code, original) in enumerate(zip(code_lines, raw_lines), start=1):
        allowed = set(ALLOW.findall(original))
        m = INCLUDE.match(original)
        if m:
            header = m.group(2)
            if m.group(1) == '"' and not header.startswith("core/"):
                findings.append((path, number, "include", f'"{header}": core/ includes only core/ headers'))
            if m.group(1) == "<" and header in FORBIDDEN_HEADERS and "include" not in allowed:
                findings.append((path, number, "include", f"<{header}> is not for the sans-IO core"))
            continue
        for rule, pattern, why in RULES:
            if rule not in allowed and pattern.search(code):
                findings.append((path, number, rule, why))
    return findings


def main(argv):
    roots = argv[1:] or ["core"]
    findings = []
    files = 0
    for root in roots:
        if not os.path.isdir(root):
            print(f"lint-core: {root} is not a directory", file=sys.stderr)
            return 2
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames.sort()
            for name in sorted(filenames):
                if name.endswith((".h", ".cc", ".hpp", ".cpp", ".def")):
                    files += 1
                    findings.extend(lint_file(os.path.join(dirpath, name)))
    for path, number, rule, why in findings:
        print(f"{path}:{number}: [{rule}] {why}")
    print(f"lint-core: {files} files, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
