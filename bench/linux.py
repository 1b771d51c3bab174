#!/usr/bin/env python3
"""Benchmark workloads inside Debian's i386 Linux guest, on kestrel and on
qemu-system-i386, as a module (for bench/compare) and a small CLI.

    python3 bench/linux.py --engines kestrel:jit,qemu:tcg --workloads boot,guest-cpu --runs 3

Interface (stable; bench/compare imports it)
--------------------------------------------
WORKLOADS = {"boot": fn, "guest-cpu": fn, "syscall": fn, "disk": fn}

    fn(engine, *, runs_dir=None, timeout=600, **options) -> dict(
        seconds=float,      # the measured time (what each workload times: below)
        counters={...},     # numbers: kestrel's --stats, the guest's own clock, ...
        checksum=str|None,  # the workload's result; equal on every engine when all is well
        note=str)           # anything the reader should know ("" when nothing)

    raises WorkloadError(reason) when it cannot measure (WorkloadTimeout, a
    subclass whose reason starts with "timeout", when the time limit passed).

engine is a dict: {"kind": "kestrel", "path": ..., "accel": "interp"|"jit"|"kvm"},
{"kind": "qemu", "path": ..., "accel": "tcg"|"kvm"} or {"kind": "native"}
(native: guest-cpu and syscall only). "binary" is accepted for "path";
"args" (a list) adds emulator options, e.g. ["--clock", "icount:4"].
Each call is one process run: boot the guest, measure, power it off.
runs_dir, when given, receives each run's COM1 transcript, stderr and
command line. timeout bounds the whole process run (seconds). options:
quick=True (small sizes, for smoke runs), clock="cpu" (seconds = the
emulator process's CPU time over the measured interval, from
/proc/PID/stat, instead of wall time); other keywords are ignored.

prepare(cache_dir=None) builds what the workloads need, once (cached and
rebuilt when a source changes) and returns it; the workloads call it with
the default directory ($KESTREL_BENCH_CACHE, else ~/.cache/kestrel/bench-linux)
if nobody did. It runs tests/boot/fetch for the kernel and busybox
initramfs (Debian 12 packages), compiles the two programs below with
`gcc -m32 -static -O2`, appends them (and the kernel's IDE driver modules,
from the same kernel package) to the initramfs as a second cpio archive,
and writes a raw disk image of seeded pseudo-random bytes.

What each workload measures
---------------------------
boot       seconds from starting the emulator process to the busybox shell
           prompt on ttyS0 (direct kernel boot: --kernel/--initrd/--append,
           the command line tests/boot/fetch's bootloaders use: crypto
           self-tests off), then `poweroff -f` must end the process cleanly.
guest-cpu  bench/workload (the five CPU phases of bench/run, scale 10) built
           as a static Linux program, run at the guest's shell. Timed from
           the host between two markers the shell prints around it on the
           serial console (the guest's clock is the emulator's to make up);
           the guest's own `time` and the program's per-phase CLOCK_MONOTONIC
           readings are in the counters. checksum: the phases' checksums,
           which must equal the host CPU's (the native engine).
syscall    bench/linux-progs/syscall.c: 200000 getppid(), 200000 one-byte
           writes to /dev/null, 20000 pipe round trips with a child
           process; timed between markers like guest-cpu.
disk       `dd if=/dev/sda of=/dev/null bs=1M` of a 64 MiB raw image on the
           primary IDE disk (kestrel --disk FILE,ro; qemu -drive
           if=ide,format=raw,snapshot=on), after loading ata_piix and sd_mod
           and dropping the page cache; timed between markers;
           counters["MB/s"] = MiB read / seconds. checksum: MD5 of the
           image as the guest read it back (from the page cache, untimed).

CLI: `--engines`, `--workloads`, `--runs`, `--timeout`, `--clock wall|cpu`,
`--quick`, `--kestrel`, `--kestrel-args`, `--qemu`, `--cache`, `--runs-dir`,
`--json` (see --help); `--self-test DIR` is ctest's bench.linux.smoke (no
guest: the programs built and checked natively, see self_test()).

Engines as the CLI names them: kestrel:interp, kestrel:jit, kestrel:kvm,
qemu:tcg, qemu:kvm, native. Machines: 128 MiB, one CPU; qemu -M pc
(i440FX + PIIX3, as kestrel's board) with -nic none. Under a KVM whose
guests see the host's CPUID (PVM, the software KVM on our machines) the
kernel is also given `nokaslr clearcpuid=158,306` so it does not execute
RDRAND/RDSEED, which PVM cannot emulate.
"""
import argparse
import fcntl
import gzip
import hashlib
import importlib.machinery
import importlib.util
import json
import os
import random
import re
import shlex
import shutil
import statistics
import stat
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the source tree
BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
BOOT_DIR = os.path.join(REPO, "tests", "boot")
FETCH = os.path.join(BOOT_DIR, "fetch")
PROGS_SRC = os.path.join(BENCH, "linux-progs")
WORKLOAD_SRC = os.path.join(BENCH, "workload")
for _d in (BENCH, BOOT_DIR):
    if _d not in sys.path:
        sys.path.insert(0, _d)
import drive  # noqa: E402  tests/boot/drive.py: Guest, the serial-console driver
import harness  # noqa: E402  bench/harness.py: parse_stats, host_cpu, git_describe

MEM_MIB = 128
DISK_MIB = 64
DISK_SEED = 20240601
CPU_SCALE = 10  # bench/workload's scale for guest-cpu (about 10^8 instructions per phase)
SYSCALL_COUNTS = {"getppid": 200000, "write": 200000, "pipe": 20000}
QUICK = {"scale": 1, "syscall": {"getppid": 20000, "write": 20000, "pipe": 2000}, "disk_mib": 16}
# The kernel's IDE stack as modules, in load order (Debian builds them as modules).
IDE_MODULES = ["drivers/scsi/scsi_common", "drivers/scsi/scsi_mod", "drivers/ata/libata", "drivers/ata/ata_piix",
               "crypto/crct10dif_common", "crypto/crct10dif_generic", "lib/crc-t10dif", "lib/crc64",
               "crypto/crc64_rocksoft_generic", "lib/crc64-rocksoft", "block/t10-pi", "drivers/scsi/sd_mod"]
KVM_CMDLINE_EXTRA = "nokaslr clearcpuid=158,306"  # X86_FEATURE_RDRAND (4*32+30), RDSEED (9*32+18)
# Shell markers around a measured command. The shell echoes the typed line
# with the quotes, so only the command's output matches the pattern.
MARK_START, MARK_END = "@@BENCH-START", "@@BENCH-END"
# gcc flags of bench/workload's phase objects (tests/guest/bench.cmake):
# freestanding, so the same objects link into the Multiboot guest there.
WORKLOAD_CFLAGS = ["-m32", "-march=i686", "-ffreestanding", "-fno-pic", "-fno-pie", "-fno-stack-protector",
                   "-fno-builtin", "-fno-tree-loop-distribute-patterns", "-O2"]
WORKLOAD_UNITS = ["main", "phase_int", "phase_mem", "phase_call", "phase_str", "phase_fp"]


class WorkloadError(Exception):
    """The workload could not be measured; str() is the reason."""


class WorkloadTimeout(WorkloadError):
    """The run passed its time limit (the reason starts with "timeout")."""


def _load_fetch():
    """tests/boot/fetch as a module (it has no .py suffix): its cpio writer."""
    loader = importlib.machinery.SourceFileLoader("kestrel_boot_fetch", FETCH)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------- prepare

class Prepared:
    """Paths of what prepare() built."""

    def __init__(self, cache_dir):
        self.dir = cache_dir
        self.images = os.path.join(cache_dir, "images")  # tests/boot/fetch's output
        self.kernel = os.path.join(self.images, "vmlinuz")
        self.initrd = os.path.join(cache_dir, "initrd-bench.gz")  # fetch's initramfs + /bench
        self.disk = os.path.join(cache_dir, "disk.img")
        self.progs = os.path.join(cache_dir, "progs")
        self.workload = os.path.join(self.progs, "workload")  # static i386 bench/workload
        self.syscall = os.path.join(self.progs, "syscall")  # static i386 syscall.c
        self.cmdline = ""
        self.release = ""
        self.expected = {}  # native checksums: {"guest-cpu": str, "guest-cpu-quick": str, "disk": md5...}


# The module's only state: what prepare() already built, by directory, and
# the last one (what the workloads use).
_prepared = {"last": None}


def default_cache_dir():
    return os.environ.get("KESTREL_BENCH_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kestrel",
                                                                 "bench-linux")


def _run(cmd, what, **kw):
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, **kw)
    except OSError as e:
        raise WorkloadError("%s: cannot run %s: %s" % (what, cmd[0], e))
    if p.returncode != 0:
        raise WorkloadError("%s failed (status %d): %s\n%s%s" % (what, p.returncode, " ".join(cmd), p.stdout,
                                                                 p.stderr))
    return p.stdout


def _sources_hash(paths, extra=""):
    h = hashlib.sha256(extra.encode())
    for p in sorted(paths):
        with open(p, "rb") as f:
            h.update(p.encode() + b"\0" + f.read())
    return h.hexdigest()[:16]


def _build_programs(prep):
    """gcc -m32 -static the two guest programs (in prep.progs), when their
    sources changed."""
    srcs = [os.path.join(WORKLOAD_SRC, u + ".c") for u in WORKLOAD_UNITS]
    srcs += [os.path.join(WORKLOAD_SRC, "workload.h"), os.path.join(WORKLOAD_SRC, "native", "platform.c"),
             os.path.join(PROGS_SRC, "syscall.c")]
    stamp = _sources_hash(srcs, " ".join(WORKLOAD_CFLAGS))
    stamp_path = os.path.join(prep.progs, "stamp")
    if os.path.exists(stamp_path) and open(stamp_path).read() == stamp and \
            os.path.exists(prep.workload) and os.path.exists(prep.syscall):
        return
    os.makedirs(prep.progs, exist_ok=True)
    objs = []
    for u in WORKLOAD_UNITS:
        obj = os.path.join(prep.progs, u + ".o")
        _run(["gcc"] + WORKLOAD_CFLAGS + ["-c", os.path.join(WORKLOAD_SRC, u + ".c"), "-o", obj],
             "compiling bench/workload/%s.c (needs gcc -m32: gcc-multilib)" % u)
        objs.append(obj)
    plat = os.path.join(prep.progs, "platform.o")
    _run(["gcc", "-m32", "-O2", "-c", os.path.join(WORKLOAD_SRC, "native", "platform.c"), "-o", plat],
         "compiling bench/workload/native/platform.c")
    _run(["gcc", "-m32", "-static", "-o", prep.workload + ".tmp", plat] + objs + ["-lgcc"],
         "linking the static workload (needs a static 32-bit libc: libc6-dev-i386)")
    _run(["gcc", "-m32", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-o", prep.syscall + ".tmp",
          os.path.join(PROGS_SRC, "syscall.c")], "building bench/linux-progs/syscall.c")
    for p in (prep.workload, prep.syscall):
        os.replace(p + ".tmp", p)
    for o in objs + [plat]:
        os.unlink(o)
    with open(stamp_path, "w") as f:
        f.write(stamp)


def _fetch_cache():
    return os.environ.get("KESTREL_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "kestrel", "debian")


def _ide_modules(prep, release):
    """The IDE driver modules from the kernel package fetch downloaded:
    [(name, bytes)] in load order."""
    moddir = os.path.join(prep.dir, "modules", release)
    names = [os.path.basename(m) + ".ko" for m in IDE_MODULES]
    if not all(os.path.exists(os.path.join(moddir, n)) for n in names):
        cache = _fetch_cache()
        debs = sorted(f for f in os.listdir(cache) if f.startswith("linux-image-%s_" % release) and
                      f.endswith("_i386.deb"))
        if not debs:
            raise WorkloadError("no linux-image-%s .deb in %s (tests/boot/fetch's cache)" % (release, cache))
        tmp = os.path.join(prep.dir, "modules.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        members = ["./lib/modules/%s/kernel/%s.ko" % (release, m) for m in IDE_MODULES]
        _run(["sh", "-c", 'deb=$1; dir=$2; shift 2; dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$dir" "$@"',
              "mods", os.path.join(cache, debs[-1]), tmp] + members, "extracting the IDE modules")
        os.makedirs(moddir, exist_ok=True)
        for m, n in zip(members, names):
            shutil.move(os.path.join(tmp, m), os.path.join(moddir, n))
        shutil.rmtree(tmp)
    out = []
    for n in names:
        with open(os.path.join(moddir, n), "rb") as f:
            out.append((n, f.read()))
    return out


# The guest side of the disk workload: load the drivers, wait for the disk.
DISK_SETUP = """#!/bin/sh
for m in %s; do insmod /bench/mod/$m.ko || { echo "disk-setup: insmod $m failed"; exit 1; }; done
for i in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do [ -b /dev/sda ] && break; sleep 1; done
[ -b /dev/sda ] || { echo "disk-setup: no /dev/sda"; exit 1; }
echo "disk-setup: $(cat /sys/block/sda/size) sectors"
"""


def _build_initrd(prep, fetch_mod):
    """fetch's initramfs with a second cpio archive appended: /bench/workload,
    /bench/syscall, /bench/disk-setup and /bench/mod/*.ko (the kernel
    unpacks concatenated archives in order)."""
    mods = _ide_modules(prep, prep.release)
    setup = DISK_SETUP % " ".join(n[:-3] for n, _ in mods)
    base = open(os.path.join(prep.images, "initrd.gz"), "rb").read()
    d = stat.S_IFDIR | 0o755
    x = stat.S_IFREG | 0o755
    entries = [("bench", d, b"", 0, 0), ("bench/mod", d, b"", 0, 0),
               ("bench/workload", x, open(prep.workload, "rb").read(), 0, 0),
               ("bench/syscall", x, open(prep.syscall, "rb").read(), 0, 0),
               ("bench/disk-setup", x, setup.encode(), 0, 0)]
    entries += [("bench/mod/" + n, stat.S_IFREG | 0o644, data, 0, 0) for n, data in mods]
    extra = gzip.compress(fetch_mod.cpio_newc(entries), compresslevel=6, mtime=0)
    want = base + extra
    if os.path.exists(prep.initrd) and open(prep.initrd, "rb").read() == want:
        return
    with open(prep.initrd + ".tmp", "wb") as f:
        f.write(want)
    os.replace(prep.initrd + ".tmp", prep.initrd)


def _disk_bytes(mib):
    """The disk image's contents: a first sector that is no partition table,
    then seeded pseudo-random bytes (incompressible, the same everywhere)."""
    head = b"KESTREL BENCH DISK, %d MiB, seed %d\n" % (mib, DISK_SEED)
    return head.ljust(512, b"\0") + random.Random(DISK_SEED).randbytes(mib * 1048576 - 512)


def _build_disk(prep):
    if os.path.exists(prep.disk) and os.path.getsize(prep.disk) == DISK_MIB * 1048576 and \
            "disk" in prep.expected:
        return
    data = _disk_bytes(DISK_MIB)
    with open(prep.disk + ".tmp", "wb") as f:
        f.write(data)
    os.replace(prep.disk + ".tmp", prep.disk)


def _native_checksums(prep):
    """The oracle: the programs' checksums on the host CPU."""
    for key, scale in (("guest-cpu", CPU_SCALE), ("guest-cpu-quick", QUICK["scale"])):
        out = _run([prep.workload, "phases=all", "scale=%d" % scale], "running the workload natively")
        prep.expected[key] = _checksum_text(harness.parse_checksums(out))
    for key, counts in (("syscall", SYSCALL_COUNTS), ("syscall-quick", QUICK["syscall"])):
        out = _run([prep.syscall] + ["%s=%d" % kv for kv in counts.items()], "running syscall natively")
        prep.expected[key] = _checksum_text(harness.parse_checksums(out))
    data = _disk_bytes(DISK_MIB)
    prep.expected["disk"] = hashlib.md5(data).hexdigest()
    prep.expected["disk-quick"] = hashlib.md5(data[:QUICK["disk_mib"] * 1048576]).hexdigest()


def prepare(cache_dir=None, quiet=True):
    """Build (or find cached) everything the workloads need; returns a
    Prepared. Raises WorkloadError with the reason when something fails."""
    if cache_dir is None and _prepared["last"]:
        return _prepared["last"]
    cache_dir = os.path.abspath(cache_dir or default_cache_dir())
    if cache_dir in _prepared:
        _prepared["last"] = _prepared[cache_dir]
        return _prepared[cache_dir]
    os.makedirs(cache_dir, exist_ok=True)
    prep = Prepared(cache_dir)
    with open(os.path.join(cache_dir, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent runs share the cache
        cmd = [sys.executable, FETCH, "--out", prep.images, "direct"] + (["--quiet"] if quiet else [])
        p = subprocess.run(cmd, capture_output=quiet, text=True)
        if p.returncode != 0:
            raise WorkloadError("tests/boot/fetch failed: %s" % ((p.stderr or "").strip() or "see above"))
        prep.release = open(os.path.join(prep.images, "kernel-release")).read().strip()
        prep.cmdline = open(os.path.join(prep.images, "cmdline")).read().strip()
        _build_programs(prep)
        exp_path = os.path.join(cache_dir, "expected.json")
        stamp = open(os.path.join(prep.progs, "stamp")).read() + " %d %d" % (DISK_MIB, DISK_SEED)
        try:
            saved = json.load(open(exp_path))
        except (OSError, ValueError):
            saved = {}
        if saved.get("stamp") == stamp and all(k in saved for k in ("guest-cpu", "syscall", "disk")):
            prep.expected = {k: v for k, v in saved.items() if k != "stamp"}
        else:
            _native_checksums(prep)
            with open(exp_path, "w") as f:
                json.dump(dict(prep.expected, stamp=stamp), f, indent=1)
        _build_initrd(prep, _load_fetch())
        _build_disk(prep)
    _prepared[cache_dir] = _prepared["last"] = prep
    return prep


# ---------------------------------------------------------------- engines

def engine_label(engine):
    kind = engine.get("kind")
    return kind if kind == "native" else "%s:%s" % (kind, engine.get("accel") or "default")


def _engine_path(engine):
    path = engine.get("path") or engine.get("binary")
    if not path:
        path = {"kestrel": os.path.join(REPO, "build", "kestrel"),
                "qemu": shutil.which("qemu-system-i386") or "qemu-system-i386"}.get(engine.get("kind"))
    return path


def guest_command(engine, prep, disk=None):
    """The emulator's command line for a direct Linux boot, COM1 on stdio."""
    kind, accel = engine.get("kind"), engine.get("accel")
    path = _engine_path(engine)
    cmdline = prep.cmdline + (" " + KVM_CMDLINE_EXTRA if accel == "kvm" else "")
    extra = list(engine.get("args") or [])
    if kind == "kestrel":
        cmd = [path] + (["--accel", accel] if accel else []) + [
            "--mem", "%dM" % MEM_MIB, "--serial", "stdio", "--stats", "--no-reboot",
            "--kernel", prep.kernel, "--initrd", prep.initrd, "--append", cmdline]
    elif kind == "qemu":
        cmd = [path, "-M", "pc", "-m", str(MEM_MIB), "-accel", accel or "tcg", "-display", "none",
               "-serial", "stdio", "-monitor", "none", "-nic", "none", "-no-reboot",
               "-kernel", prep.kernel, "-initrd", prep.initrd, "-append", cmdline]
    else:
        raise WorkloadError("engine %s cannot boot a guest" % engine_label(engine))
    if not path or not (os.path.exists(path) or shutil.which(path)):
        raise WorkloadError("%s not found (%s)" % (kind, path))
    return cmd + (disk_args(kind, disk) if disk else []) + extra


def disk_args(kind, disk):
    """The options attaching DISK as the primary IDE master, read-only."""
    if kind == "kestrel":
        return ["--disk", disk + ",ro"]
    # QEMU refuses read-only IDE hard disks; snapshot=on keeps the image unwritten.
    return ["-drive", "file=%s,if=ide,index=0,media=disk,format=raw,snapshot=on" % disk]


def _proc_cpu(pid):
    """CPU seconds (user + system) the process has used so far, or None."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def _parse_time_output(text):
    """busybox `time`'s lines ("real\t0m 1.23s") as {guest_time_real_s: ...}."""
    out = {}
    for what, mins, secs in re.findall(r"^(real|user|sys)\s+(\d+)m\s*([\d.]+)s", text, re.M):
        out["guest_time_%s_s" % what] = int(mins) * 60 + float(secs)
    return out


def _checksum_text(sums):
    return ",".join("%s:%s" % kv for kv in sums.items()) if sums else None


class Session:
    """One emulator process booting the guest: the measured run of a workload."""

    _seq = 0

    def __init__(self, engine, workload, runs_dir, timeout, clock, disk=None):
        self.engine = engine
        self.workload = workload
        self.timeout = timeout
        self.clock = clock
        self.prep = prepare()
        self.cmd = guest_command(engine, self.prep, disk)
        self.counters = {}
        self.com_log = None
        self.base = None
        if runs_dir:
            os.makedirs(runs_dir, exist_ok=True)
            Session._seq += 1
            self.base = os.path.join(runs_dir, "%s.%s.%s-%d-%d" % (
                workload, engine_label(engine).replace(":", "-"), time.strftime("%Y%m%d-%H%M%S"), os.getpid(),
                Session._seq))
            with open(self.base + ".cmd", "w") as f:
                f.write(" ".join(shlex.quote(c) for c in self.cmd) + "\n")
            self.com_log = open(self.base + ".com1", "wb")
        try:
            self.g = drive.Guest(self.cmd, self.com_log)
        except OSError as e:
            self._close()
            raise WorkloadError("cannot start %s: %s" % (self.cmd[0], e))
        self.deadline = self.g.t0 + timeout

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        """Whatever happened, no emulator outlives its run."""
        if self.g.proc.poll() is None:
            self.g.kill()
        self._close()
        return False

    def left(self):
        return self.deadline - time.monotonic()

    def _fail(self, e, doing):
        """Turn a drive.DriveError into ours, after stopping the process."""
        timed_out = self.left() <= 0
        self.g.kill()
        self._close()
        where = " (transcript: %s.com1)" % self.base if self.base else ""
        if timed_out:
            return WorkloadTimeout("timeout: %s not done after %g s%s" % (doing, self.timeout, where))
        tail = re.sub(r"\s+", " ", self.g.transcript(300).split("---- kestrel stderr ----")[-1]).strip(" -")
        return WorkloadError("%s: %s%s%s" % (doing, e, "; stderr: " + tail[-200:] if tail else "", where))

    def boot(self):
        """Wait for the shell; returns seconds from process start."""
        try:
            self.g.expect(rb"KESTREL-INIT-OK", max(self.left(), 0.01), "the initramfs's marker")
            self.g.expect(drive.PROMPT, max(self.left(), 0.01), "the shell prompt")
            secs = self.g.elapsed()
            cpu = _proc_cpu(self.g.proc.pid)
            self.g._after_prompt()
        except drive.DriveError as e:
            raise self._fail(e, "boot to the shell prompt")
        self.counters["boot_s"] = secs
        if cpu is not None:
            self.counters["boot_cpu_s"] = cpu
        return cpu if self.clock == "cpu" and cpu is not None else secs

    def run(self, command):
        """A command at the prompt (untimed); its output lines."""
        try:
            return self.g.run(command, max(self.left(), 0.01))
        except drive.DriveError as e:
            raise self._fail(e, "`%s`" % command)

    def timed(self, command):
        """Run COMMAND between markers; returns (seconds, output text)."""
        a, b = MARK_START.split("-", 1)
        c, d = MARK_END.split("-", 1)
        line = 'echo "%s"-"%s"; %s; echo "%s"-"%s"' % (a, b, command, c, d)
        try:
            self.g.send(line + "\n")
            m0 = self.g.expect(re.escape(MARK_START).encode() + rb"\r?\n", max(self.left(), 0.01), MARK_START)
            t0, c0 = self.g.elapsed(), _proc_cpu(self.g.proc.pid)
            m1 = self.g.expect(re.escape(MARK_END).encode() + rb"\r?\n", max(self.left(), 0.01), MARK_END)
            t1, c1 = self.g.elapsed(), _proc_cpu(self.g.proc.pid)
            self.g.wait_prompt(max(self.left(), 0.01))
        except drive.DriveError as e:
            raise self._fail(e, "`%s`" % command)
        text = self.g.out[m0.end():m1.start()].decode("utf-8", "replace").replace("\r", "")
        self.counters["wall_s"] = t1 - t0
        if c0 is not None and c1 is not None:
            self.counters["cpu_s"] = c1 - c0
        secs = t1 - t0
        if self.clock == "cpu" and c0 is not None and c1 is not None:
            secs = c1 - c0
        return secs, text

    def finish(self):
        """poweroff -f; the process must end with status 0. Adds the
        emulator's --stats counters and its rusage."""
        try:
            self.g.send("poweroff -f\n")
            status = self.g.wait_exit(max(self.left(), 5))
        except drive.DriveError as e:
            raise self._fail(e, "poweroff")
        self._close()
        if status != 0:
            raise WorkloadError("%s exited with status %d after poweroff -f%s" % (
                self.cmd[0], status, " (see %s.stderr)" % self.base if self.base else ""))
        err = self.g.err.decode("utf-8", "replace")
        stats = err[err.find("kestrel: stats after"):] if "kestrel: stats after" in err else ""
        self.counters.update(harness.parse_stats(stats))
        m = re.search(r"stats after ([\d.]+) s", stats)
        if m:
            self.counters["stats_s"] = float(m.group(1))
        if self.g.rusage:
            self.counters["process_cpu_s"] = self.g.rusage.ru_utime + self.g.rusage.ru_stime
        self.counters["process_s"] = self.g.elapsed()

    def _close(self):
        if self.com_log:
            self.com_log.close()
            self.com_log = None
        if self.base:
            with open(self.base + ".stderr", "wb") as f:
                f.write(bytes(self.g.err) if hasattr(self, "g") else b"")


# ---------------------------------------------------------------- workloads

def _options(options):
    return bool(options.get("quick")), options.get("clock") or "wall"


def _note_engine(engine):
    return "under a software KVM: not a speed figure" if engine.get("accel") == "kvm" and \
        engine.get("software_kvm") else ""


def _result(seconds, counters, checksum=None, note=""):
    return {"seconds": float(seconds), "counters": counters, "checksum": checksum, "note": note}


def workload_boot(engine, *, runs_dir=None, timeout=600, **options):
    """Boot to the busybox shell prompt (seconds from process start)"""
    quick, clock = _options(options)
    if engine.get("kind") == "native":
        raise WorkloadError("not applicable natively")
    with Session(engine, "boot", runs_dir, timeout, clock) as s:
        secs = s.boot()
        s.finish()
    return _result(secs, s.counters, None, _note_engine(engine))


def _check(name, sums, want, note):
    got = _checksum_text(sums)
    if got != want:
        note.append("CHECKSUM DIFFERS from native (%s, want %s)" % (got, want))
    return got


def _run_native(cmd, timeout, clock):
    """A program on the host: (seconds, stdout, counters)."""
    try:
        p, wall, cpu = harness.run_measured(cmd, timeout)
    except OSError as e:
        raise WorkloadError("cannot run %s: %s" % (cmd[0], e))
    except subprocess.TimeoutExpired:
        raise WorkloadTimeout("timeout: %s still running after %g s" % (os.path.basename(cmd[0]), timeout))
    if p.returncode != 0:
        raise WorkloadError("%s exited with status %d: %s" % (cmd[0], p.returncode, p.stderr[-300:]))
    return (cpu if clock == "cpu" else wall), p.stdout, {"wall_s": wall, "cpu_s": cpu}


def _program_counters(text):
    """The programs' own `time NAME NS` lines (the machine's clock) as seconds."""
    return {"guest_clock_%s_s" % n: int(ns) / 1e9 for n, ns in re.findall(r"^time (\w+) (\d+)$", text, re.M)}


def _program_workload(engine, name, argv, want, runs_dir, timeout, clock):
    note = [_note_engine(engine)] if _note_engine(engine) else []
    if engine.get("kind") == "native":
        prep = prepare()
        prog = {"guest-cpu": prep.workload, "syscall": prep.syscall}[name]
        secs, text, counters = _run_native([prog] + argv, timeout, clock)
        counters.update({k.replace("guest_clock_", "clock_"): v for k, v in _program_counters(text).items()})
        sums = harness.parse_checksums(text)
        if "done" not in text.split():
            raise WorkloadError("%s printed no `done`: %r" % (name, text[-200:]))
        return _result(secs, counters, _check(name, sums, want, note), "; ".join(note))
    with Session(engine, name, runs_dir, timeout, clock) as s:
        s.boot()
        prog = "/bench/" + {"guest-cpu": "workload", "syscall": "syscall"}[name]
        secs, text = s.timed("time %s %s" % (prog, " ".join(argv)))
        s.counters.update(_parse_time_output(text))
        s.counters.update(_program_counters(text))
        s.finish()
    if "done" not in text.split():
        raise WorkloadError("%s in the guest did not finish: %r" % (name, text[-300:]))
    return _result(secs, s.counters, _check(name, harness.parse_checksums(text), want, note), "; ".join(note))


def workload_guest_cpu(engine, *, runs_dir=None, timeout=600, **options):
    """CPU work inside the guest: bench/workload's five phases (host-timed)"""
    quick, clock = _options(options)
    prep = prepare()
    scale = QUICK["scale"] if quick else CPU_SCALE
    want = prep.expected["guest-cpu-quick" if quick else "guest-cpu"]
    return _program_workload(engine, "guest-cpu", ["phases=all", "scale=%d" % scale], want, runs_dir, timeout,
                             clock)


def workload_syscall(engine, *, runs_dir=None, timeout=600, **options):
    """System calls inside the guest: getppid, writes to /dev/null, pipe round trips"""
    quick, clock = _options(options)
    prep = prepare()
    counts = QUICK["syscall"] if quick else SYSCALL_COUNTS
    want = prep.expected["syscall-quick" if quick else "syscall"]
    return _program_workload(engine, "syscall", ["%s=%d" % kv for kv in counts.items()], want, runs_dir, timeout,
                             clock)


def workload_disk(engine, *, runs_dir=None, timeout=600, **options):
    """Disk reads inside the guest: dd of a raw IDE disk to /dev/null"""
    quick, clock = _options(options)
    if engine.get("kind") == "native":
        raise WorkloadError("not applicable natively")
    prep = prepare()
    mib = QUICK["disk_mib"] if quick else DISK_MIB
    with Session(engine, "disk", runs_dir, timeout, clock, disk=prep.disk) as s:
        s.boot()
        setup = s.run("/bench/disk-setup")
        if not any(line.startswith("disk-setup: %d sectors" % (DISK_MIB * 2048)) for line in setup):
            raise WorkloadError("the guest found no %d MiB disk: %s" % (DISK_MIB, " | ".join(setup)[-300:]))
        s.run("sync; echo 3 > /proc/sys/vm/drop_caches")
        secs, text = s.timed("dd if=/dev/sda of=/dev/null bs=1M count=%d" % mib)
        # Debian's busybox dd prints only the record counts (no rate line).
        if not re.search(r"^%d\+0 records out$" % mib, text, re.M):
            raise WorkloadError("dd did not read %d MiB: %r" % (mib, text[-300:]))
        s.counters["MB/s"] = mib / secs if secs > 0 else float("inf")
        # The checksum, from the page cache (untimed): what the guest read.
        sums = s.run("dd if=/dev/sda bs=1M count=%d 2>/dev/null | md5sum" % mib)
        got = sums[-1].split()[0] if sums and sums[-1].split() else None
        s.finish()
    want = prep.expected["disk-quick" if quick else "disk"]
    note = [_note_engine(engine)] if _note_engine(engine) else []
    if got != want:
        note.append("CHECKSUM DIFFERS from the image (%s, want %s)" % (got, want))
    return _result(secs, s.counters, got, "; ".join(note))


WORKLOADS = {"boot": workload_boot, "guest-cpu": workload_guest_cpu, "syscall": workload_syscall,
             "disk": workload_disk}


# ---------------------------------------------------------------- self-test

def _mix32(h, v):
    h = ((h ^ v) * 0x01000193) & 0xffffffff
    return ((h << 13) | (h >> 19)) & 0xffffffff


def syscall_model(counts):
    """What syscall.c must print for COUNTS when every call does what POSIX
    says (getppid constant, one byte written, the child echoes byte + 1):
    its checksums computed here, independently of the C code."""
    h = 0x811c9dc5
    for k in range(counts["getppid"]):
        h = _mix32(h, (k ^ 1) & 0xffffffff)
    out = {"getppid": "%08x" % h}
    h = 0x811c9dc5
    for k in range(counts["write"]):
        h = _mix32(h, (k + 1) & 0xffffffff)
    out["write"] = "%08x" % h
    h = 0x811c9dc5
    for k in range(counts["pipe"]):
        h = _mix32(h, ((k * 7) + 1) & 0xff)
    out["pipe"] = "%08x" % h
    return _checksum_text(out)


def self_test(out_dir, kestrel=None, elf=None, reference=None):
    """The fast check (ctest bench.linux.smoke), no guest booted: the two
    programs build static and run on the host; syscall's checksums equal
    the model above; the static workload's equal REFERENCE's (the normal
    build's bench/workload-native) at scale 1; and kestrel's --stats, from a
    real run of ELF, parse into the counters the workloads return.
    Returns a list of failures (empty: passed)."""
    fails = []
    prep = Prepared(os.path.abspath(out_dir))
    _build_programs(prep)
    counts = QUICK["syscall"]
    p = subprocess.run([prep.syscall] + ["%s=%d" % kv for kv in counts.items()], capture_output=True, text=True)
    got, want = _checksum_text(harness.parse_checksums(p.stdout)), syscall_model(counts)
    print("syscall natively: %s (model: %s)" % (got, want))
    if p.returncode != 0 or got != want:
        fails.append("syscall: status %d, checksums %s, want %s" % (p.returncode, got, want))
    if reference:
        sums = []
        for prog in (prep.workload, reference):
            out = subprocess.run([prog, "phases=all", "scale=1"], capture_output=True, text=True).stdout
            sums.append(_checksum_text(harness.parse_checksums(out)))
        print("workload (static) natively: %s\nworkload-native (build): %s" % tuple(sums))
        if not sums[0] or sums[0] != sums[1] or len(sums[0].split(",")) != 5:
            fails.append("static workload checksums %s differ from %s's %s" % (sums[0], reference, sums[1]))
    if kestrel and elf:
        p = subprocess.run([kestrel, "--stats", "--kernel", elf, "--append", "phases=int scale=1"],
                           capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=120)
        stats = harness.parse_stats(p.stderr[p.stderr.find("kestrel: stats after"):])
        print("kestrel --stats: insns %s, %d counters" % (stats.get("insns"), len(stats)))
        if not isinstance(stats.get("insns"), int) or stats["insns"] < 10 ** 6:
            fails.append("kestrel --stats gave no instruction count: %r" % p.stderr[-300:])
    return fails


# ---------------------------------------------------------------- the CLI

ENGINE_SPECS = {"kestrel:interp", "kestrel:jit", "kestrel:kvm", "qemu:tcg", "qemu:kvm", "native"}
def describe(workload, quick=False):
    """What the table's cell for WORKLOAD measures (the legend)."""
    scale = QUICK["scale"] if quick else CPU_SCALE
    n = QUICK["syscall"] if quick else SYSCALL_COUNTS
    mib = QUICK["disk_mib"] if quick else DISK_MIB
    return {
        "boot": "process start -> busybox shell prompt on ttyS0 (direct kernel boot)",
        "guest-cpu": "bench/workload's phases int,mem,call,str,fp at scale %d as a static i386 program; "
                     "host-timed between serial markers" % scale,
        "syscall": "%d getppid + %d write(/dev/null) + %d pipe round trips (bench/linux-progs/syscall.c); "
                   "host-timed between serial markers" % (n["getppid"], n["write"], n["pipe"]),
        "disk": "dd if=/dev/sda of=/dev/null bs=1M count=%d (raw IDE disk, ata_piix, cold page cache); "
                "host-timed between serial markers" % mib,
    }[workload]


def parse_engine(spec, kestrel=None, qemu=None, kestrel_args=None):
    """"kestrel:jit" -> the engine dict."""
    if spec not in ENGINE_SPECS:
        raise ValueError("unknown engine %r (have: %s)" % (spec, ", ".join(sorted(ENGINE_SPECS))))
    if spec == "native":
        return {"kind": "native"}
    kind, accel = spec.split(":")
    e = {"kind": kind, "accel": accel, "path": kestrel if kind == "kestrel" else qemu}
    if kind == "kestrel" and kestrel_args:
        e["args"] = shlex.split(kestrel_args)
    return e


def _qemu_version(path):
    try:
        return subprocess.run([path, "--version"], capture_output=True, text=True,
                              timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def _cell(results, workload):
    """Median of the runs as table text, and the median seconds (or None)."""
    ok = [r for r in results if isinstance(r, dict)]
    if not ok:
        errs = [str(r) for r in results]
        if all(e.startswith("timeout") for e in errs):
            return "timeout", None
        return ("n/a" if errs and all("not applicable" in e for e in errs) else "FAIL"), None
    secs = statistics.median(r["seconds"] for r in ok)
    text = "%.2f s" % secs
    if workload == "disk":
        text += " (%.0f MB/s)" % statistics.median(r["counters"].get("MB/s", 0) for r in ok)
    if len(ok) < len(results):
        text += " [%d/%d ok]" % (len(ok), len(results))
    if any("DIFFERS" in r["note"] for r in ok):
        text += " WRONG"
    return text, secs


def main():
    ap = argparse.ArgumentParser(description="Benchmark workloads inside Debian's i386 guest on kestrel and QEMU "
                                 "(see the top of bench/linux.py and bench/README.md).")
    ap.add_argument("--engines", default="kestrel:jit,qemu:tcg",
                    help="comma-separated: %s (default %%(default)s)" % ", ".join(sorted(ENGINE_SPECS)))
    ap.add_argument("--workloads", default="boot,guest-cpu,syscall,disk",
                    help="comma-separated: %s (default: all)" % ", ".join(WORKLOADS))
    ap.add_argument("--runs", type=int, default=3, help="runs of each workload per engine (median shown)")
    ap.add_argument("--timeout", type=float, default=600, help="seconds allowed per process run")
    ap.add_argument("--kestrel", default=os.path.join(REPO, "build", "kestrel"), help="default %(default)s")
    ap.add_argument("--kestrel-args", default="", help="more kestrel options, e.g. '--clock icount:4'")
    ap.add_argument("--qemu", default=shutil.which("qemu-system-i386") or "qemu-system-i386")
    ap.add_argument("--cache", default=default_cache_dir(), help="prepared guest and programs (%(default)s)")
    ap.add_argument("--runs-dir", help="keep each run's COM1 transcript, stderr and command line here")
    ap.add_argument("--quick", action="store_true", help="small sizes (a smoke run, not a measurement)")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="wall time, or the emulator process's CPU time over the measured interval")
    ap.add_argument("--json", help="also write every run's result here")
    ap.add_argument("--self-test", metavar="DIR", help="no guest: build the programs into DIR and check them "
                    "natively (ctest bench.linux.smoke); with --elf and --reference, see self_test()")
    ap.add_argument("--elf", help="--self-test: a Multiboot guest for the --stats check (build/bench/workload.elf)")
    ap.add_argument("--reference", help="--self-test: build/bench/workload-native, the workload's checksums")
    args = ap.parse_args()
    if args.self_test:
        try:
            fails = self_test(args.self_test, args.kestrel, args.elf, args.reference)
        except WorkloadError as e:
            fails = [str(e)]
        for f in fails:
            print("FAIL: " + f)
        print("self-test: %s" % ("FAILED" if fails else "passed"))
        return 1 if fails else 0
    try:
        engines = [parse_engine(s.strip(), args.kestrel, args.qemu, args.kestrel_args)
                   for s in args.engines.split(",") if s.strip()]
    except ValueError as e:
        ap.error(str(e))
    workloads = [w.strip() for w in args.workloads.split(",") if w.strip()]
    for w in workloads:
        if w not in WORKLOADS:
            ap.error("unknown workload %r (have: %s)" % (w, ", ".join(WORKLOADS)))

    print("$ " + " ".join(shlex.quote(a) for a in [os.path.relpath(sys.argv[0], os.getcwd())] + sys.argv[1:]))
    print("host: %s, %d CPUs, load %s; kestrel %s" % (harness.host_cpu(), os.cpu_count() or 0,
                                                     " ".join("%.2f" % x for x in os.getloadavg()),
                                                     harness.git_describe()))
    if any(e["kind"] == "qemu" for e in engines):
        print("qemu: " + _qemu_version(args.qemu))
    try:
        prep = prepare(args.cache, quiet=True)
    except WorkloadError as e:
        print("prepare failed: %s" % e)
        return 1
    print("guest: Debian kernel %s + busybox initramfs (+ /bench), %d MiB RAM, command line %r" %
          (prep.release, MEM_MIB, prep.cmdline))
    for e in engines:
        if e["kind"] != "native":
            try:
                cmd = guest_command(e, prep)
                disk = disk_args(e["kind"], prep.disk)
                print("%s: %s\n    (disk adds: %s)" % (engine_label(e), " ".join(shlex.quote(c) for c in cmd),
                                                   " ".join(shlex.quote(c) for c in disk)))
            except WorkloadError as err:
                print("%s: %s" % (engine_label(e), err))
        else:
            print("native: %s, %s (the same static binaries on the host)" % (prep.workload, prep.syscall))
    print(flush=True)

    results = {(w, engine_label(e)): [] for w in workloads for e in engines}
    log = []
    for run in range(args.runs):
        for w in workloads:
            order = engines[run % len(engines):] + engines[:run % len(engines)]  # rotate: drift hits all alike
            for e in order:
                label = engine_label(e)
                t0 = time.monotonic()
                try:
                    r = WORKLOADS[w](e, runs_dir=args.runs_dir, timeout=args.timeout, quick=args.quick,
                                     clock=args.clock)
                    other = r["counters"].get("wall_s" if args.clock == "cpu" else "cpu_s")
                    if w == "boot":
                        other = r["counters"].get("boot_s" if args.clock == "cpu" else "boot_cpu_s")
                    brief = "%.2f s%s%s" % (r["seconds"], " (%s %.2f s)" % ("wall" if args.clock == "cpu" else "cpu",
                                                                          other) if other is not None else "",
                                            "  " + r["note"] if r["note"] else "")
                except WorkloadError as err:
                    r = err
                    brief = str(err)
                results[(w, label)].append(r)
                log.append({"run": run, "workload": w, "engine": label,
                            **(r if isinstance(r, dict) else {"error": str(r)})})
                print("  run %d  %-9s %-15s %s  [%.0f s]" % (run + 1, w, label, brief.splitlines()[0][:150],
                                                           time.monotonic() - t0), flush=True)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(log, f, indent=1)

    # The table: medians; ratios of each kestrel engine to the first QEMU one.
    labels = [engine_label(e) for e in engines]
    ref = next((lb for lb in labels if lb.startswith("qemu:")), None)
    ratio_cols = [lb for lb in labels if lb.startswith("kestrel:")] if ref else []
    head = ["workload"] + labels + ["%s / %s" % (lb, ref) for lb in ratio_cols]
    rows = []
    for w in workloads:
        cells, secs = [], {}
        for lb in labels:
            text, s = _cell(results[(w, lb)], w)
            cells.append(text)
            secs[lb] = s
        ratios = ["%.2f" % (secs[lb] / secs[ref]) if secs[lb] and secs[ref] else "-" for lb in ratio_cols]
        rows.append([w] + cells + ratios)
    widths = [max(len(r[i]) for r in rows + [head]) for i in range(len(head))]
    print("\nmedian of %d run%s (%s time%s):" % (args.runs, "s" if args.runs > 1 else "", args.clock,
                                               "; --quick sizes" if args.quick else ""))
    for r in [head] + rows:
        print("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
    phases = ["int", "mem", "call", "str", "fp"]
    if "guest-cpu" in workloads:
        print("\nguest-cpu by phase: median seconds by the machine's own CLOCK_MONOTONIC (the guest's clock "
              "under emulation: indicative only)")
        print("  " + "engine".ljust(16) + "".join(p.rjust(8) for p in phases))
        for lb in labels:
            ok = [r for r in results[("guest-cpu", lb)] if isinstance(r, dict)]
            key = "clock_%s_s" if lb == "native" else "guest_clock_%s_s"
            vals = [[r["counters"][key % p] for r in ok if key % p in r["counters"]] for p in phases]
            if any(vals):
                print("  " + lb.ljust(16) + "".join(("%.2f" % statistics.median(v) if v else "-").rjust(8)
                                                   for v in vals))
    print("\nwhat each row times:")
    for w in workloads:
        print("  %-9s %s" % (w, describe(w, args.quick)))
    if ratio_cols:
        print("ratios below 1: kestrel is faster than %s. WRONG: a checksum differed from the native run "
              "(a wrong result); FAIL/timeout: see the run lines above." % ref)
    failed = any(isinstance(r, WorkloadError) and not isinstance(r, WorkloadTimeout) and
                 "not applicable" not in str(r) for rs in results.values() for r in rs)
    wrong = any(isinstance(r, dict) and "DIFFERS" in r["note"] for rs in results.values() for r in rs)
    return 1 if failed or wrong else 0


if __name__ == "__main__":
    sys.exit(main())
