#!/usr/bin/env python3
"""Compile Kestrel's core for other host ISAs (what an ARM64 or RISC-V host
builds: the interpreter, devices, the JIT's host-independent part and
jit/none), so that x86-64-only code cannot creep into it unseen.

    scripts/cross-check.py BUILD_DIR TRIPLE [TRIPLE...]

BUILD_DIR is a tree configured with -DKESTREL_JIT_NONE=ON and
-DCMAKE_EXPORT_COMPILE_COMMANDS=ON (scripts/test.sh makes build-nojit so);
each of its sources (but tests/) is compiled again by clang for each
target (aarch64-linux-gnu, riscv64-linux-gnu: the C library's headers
from Debian's libc6-dev-<arch>-cross, whose gcc cross compilers conflict
with gcc-multilib), with the same flags (-Werror included), to an object
thrown away. Nothing is linked: the third-party libraries are the host's
headers only (searched after the target's own). Left out, as CMake
leaves them out on such hosts or as they need an arch-specific header:
the x86 KVM files (vm/kvm/none.c is compiled instead) and the SDL
frontend files (SDL's config header is per-architecture; they use
nothing host-specific).
"""
import json
import os
import shlex
import subprocess
import sys

SKIP = ("tests/", "vm/kvm/kvm.c", "vm/kvm/mem.c", "vm/kvm/state.c", "frontends/display_sdl.c",
        "frontends/keymap_sdl.c")
EXTRA = ("vm/kvm/none.c",)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    build, triples = sys.argv[1], sys.argv[2:]
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    db = json.load(open(os.path.join(build, "compile_commands.json")))
    jobs, template = [], None
    for e in db:
        rel = os.path.relpath(e["file"], repo)
        if rel.startswith("..") or rel.startswith(os.path.basename(build.rstrip("/")) + "/"):
            rel = None  # generated sources (the decoder's tables) are compiled too
        if rel and rel.startswith(SKIP):
            continue
        args = shlex.split(e["command"])[1:]
        flags = [a for i, a in enumerate(args) if a != "-o" and (i == 0 or args[i - 1] != "-o")]
        jobs.append((rel or e["file"], flags, e["directory"]))
        if rel and rel.startswith("vm/"):
            template = (flags, e["directory"], e["file"])
    if template is None:
        sys.exit("cross-check: no vm/ source in %s/compile_commands.json" % build)
    for extra in EXTRA:
        flags, cwd, src = template
        jobs.append((extra, [os.path.join(repo, extra) if a == src else a for a in flags], cwd))
    failed = 0
    for triple in triples:
        bad = 0
        cc = ["clang", "--target=" + triple, "--sysroot=/usr/" + triple]
        for rel, flags, cwd in jobs:
            p = subprocess.run(cc + flags + ["-o", os.devnull, "-idirafter", "/usr/include"], cwd=cwd,
                               capture_output=True, text=True)
            if p.returncode:
                bad += 1
                print("cross-check: %s: %s failed:\n%s" % (triple, rel, p.stderr[:3000]), file=sys.stderr)
        print("cross-check: %s: %d files, %d failed" % (triple, len(jobs), bad))
        failed += bad
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
