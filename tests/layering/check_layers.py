#!/usr/bin/env python3
"""Every #include between the folders of server/src points down the levels below.

A folder may include its own headers and those of folders on a LOWER level, never the same level or
above: so no arrow points up and no two folders include each other. A new folder must be given a
level here (and in docs/architecture.md) before it can be included from anywhere.

Usage: check_layers.py [SRC_DIR]   (default: server/src beside this repository's tests/)
Exit 0 when every arrow points down; 1 with one line per offending include otherwise.
"""
import os
import re
import sys

# Level of each folder, lowest first. Keep in step with the diagram in docs/architecture.md.
LEVELS = {
    "base": 0,                                   # configuration, logging: leaves
    "core": 1, "metrics": 1,                     # worker pool, Prometheus registry
    "storage": 2, "net": 2, "upstream": 2,       # database thread; HTTP/WebSocket plumbing; AI service clients
    "voice": 2,                                  # microphone stream: voice detection, endpointing
    "auth": 3, "outbox": 3, "prompt": 3,         # accounts and tokens; background jobs; the prompt
    "knowledge": 4, "history": 4,                # the shared graph; kept turns and audio
    "memory": 5,                                 # per-user memories, summaries, account deletion
    "dialog": 6,                                 # the conversation: gateway, session, turn, TTS scheduler
    "admin": 7, "compat": 7,                     # admin API and live feed; other projects' client protocols
    "app": 8,                                    # the composition root
}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([a-z0-9_]+)/[^"]+"')


def check(src):
    problems = []
    folders = sorted(d for d in os.listdir(src) if os.path.isdir(os.path.join(src, d)))
    for folder in folders:
        if folder not in LEVELS:
            problems.append(f"{folder}/: a folder without a level (add it to LEVELS and docs/architecture.md)")
            continue
        for root, _, files in os.walk(os.path.join(src, folder)):
            for name in sorted(files):
                if not name.endswith((".h", ".cpp")):
                    continue
                path = os.path.join(root, name)
                with open(path, encoding="utf-8") as f:
                    for number, line in enumerate(f, 1):
                        m = INCLUDE.match(line)
                        if not m or m.group(1) == folder or m.group(1) not in folders:
                            continue
                        target = m.group(1)
                        if target not in LEVELS:
                            continue  # reported once above, as a folder without a level
                        if LEVELS[target] >= LEVELS[folder]:
                            rel = os.path.relpath(path, src)
                            direction = "sideways" if LEVELS[target] == LEVELS[folder] else "up"
                            problems.append(f"{rel}:{number}: includes {target}/ ({direction}: "
                                            f"{folder} is level {LEVELS[folder]}, {target} level {LEVELS[target]})")
    return problems


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "..", "server", "src")
    problems = check(src)
    for p in problems:
        print(p)
    if problems:
        print(f"layering: {len(problems)} include(s) against the levels")
        return 1
    print(f"layering: every include of {len(LEVELS)} folders points down")
    return 0


if __name__ == "__main__":
    sys.exit(main())
