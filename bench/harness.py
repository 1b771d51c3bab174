"""What bench/run and bench/compare share: running the benchmark workload
(bench/workload) natively, under kestrel (any accelerator) and under QEMU
(TCG or KVM), one phase per process, and turning each process into an
Outcome (checksum, seconds, kestrel's --stats counters) or a failure reason.

The runners never raise for an engine's failure (timeout, fault, missing
binary, wrong exit status): they return Outcome(ok=False, note=why), so a
harness can put the reason in its table instead of crashing. Times are
either the engine's own (kestrel's time in vm_run, the native process's
clock around the phase, QEMU's elapsed time) or, with clock="cpu", the
process's CPU time (steadier on a busy machine); start-up is not
subtracted here, the callers subtract a run of phase "none".

Standard library only.
"""
import os
import platform
import re
import resource
import shutil
import subprocess
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PHASES = ["int", "mem", "call", "str", "fp"]
FAULT_STATUS = (0x40 << 1) | 1  # the guest wrote 0x40 to port 0xf4
OK_STATUS = 1  # the guest wrote 0


class Outcome:
    """One run of one phase under one engine. `secs` is the measured time
    (see the module comment), `wall` and `cpu` the process's elapsed and
    CPU seconds, `counters` kestrel's --stats (numbers only)."""

    def __init__(self, ok, checksum=None, secs=None, insns=None, note="", wall=None, cpu=None, counters=None):
        self.ok = ok
        self.checksum = checksum
        self.secs = secs
        self.insns = insns
        self.note = note
        self.wall = wall
        self.cpu = cpu
        self.counters = counters or {}


def host_cpu():
    """The model name, with family/model/stepping (virtual machines often
    report only a generic name)."""
    info = {}
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor is enough
                k, _, v = line.partition(":")
                info.setdefault(k.strip(), v.strip())
    except OSError:
        pass
    if "model name" not in info:
        return platform.processor() or platform.machine()
    fms = "family %s model %s stepping %s" % (info.get("cpu family", "?"), info.get("model", "?"),
                                             info.get("stepping", "?"))
    return "%s [%s]" % (info["model name"], fms)


def git_describe():
    try:
        rev = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def parse_checksums(text):
    return dict(re.findall(r"^checksum (\w+) ([0-9a-f]{8})$", text, re.M))


def parse_stats(text):
    """kestrel --stats lines ("  name   value   (what)") as {name: number};
    "n/a" values are left out, a trailing % is dropped."""
    out = {}
    for name, val in re.findall(r"^\s{2}(\w+)\s+([0-9][0-9.]*)%?(?:\s|$)", text, re.M):
        out[name] = float(val) if "." in val else int(val)
    return out


def disassemble(elf, eip):
    """The instruction at `eip` in the guest image, as objdump shows it ("" if it cannot)."""
    objdump = shutil.which("objdump")
    if not objdump or not elf:
        return ""
    try:
        out = subprocess.run([objdump, "-d", "--start-address=%#x" % eip, "--stop-address=%#x" % (eip + 15), elf],
                             capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    func = re.search(r"^[0-9a-f]+ <([^>]+)>:", out, re.M)
    insn = re.search(r"^\s*%x:\s+((?:[0-9a-f]{2} )+)\s*(.*)$" % eip, out, re.M)
    if not insn:
        return ""
    return "%s%s [%s]" % (func.group(1) + ": " if func else "", re.sub(r"\s+", " ", insn.group(2).strip()),
                          insn.group(1).strip())


def fault_note(text, status, elf=None):
    m = re.search(r"fault vector ([0-9a-f]+) error ([0-9a-f]+) eip ([0-9a-f]+)", text)
    if m:
        eip = int(m.group(3), 16)
        what = disassemble(elf, eip)
        return "fault #%d at eip %x%s" % (int(m.group(1), 16), eip, " (%s)" % what if what else "")
    if status == 4:
        return "triple fault"
    if status == 3:
        return "instruction limit"
    if status == 5:
        return "KVM failed to run the guest"
    if status is None:
        return "timeout"
    return "exit status %s" % status


def args_for(phase, scale, paging):
    """The guest's Multiboot command line."""
    s = "phases=%s scale=%d" % (phase, scale)
    return s if paging else s + " paging=0"


def run_measured(cmd, timeout):
    """Run cmd; return (completed process, wall seconds, CPU seconds of the
    child). Raises subprocess.TimeoutExpired (the child is killed; the
    exception carries .wall and .cpu, what the child had used: a lower
    bound for its time) and OSError (cannot start)."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)  # run() reaped the killed child
        e.wall = time.monotonic() - t0
        e.cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)
        raise
    wall = time.monotonic() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    return p, wall, (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)


def timed_out(e, timeout, elf=None):
    """The Outcome of a run killed at its time limit. QEMU stops a guest
    whose instruction KVM cannot emulate and waits: that is a failure, and
    its message says which instruction."""
    err = e.stderr or ""
    err = err.decode("utf-8", "replace") if isinstance(err, bytes) else err
    note = "timeout (%g s)" % timeout
    if "KVM internal error" in err:
        code = re.search(r"^Code=.*<([0-9a-f]{2})> ((?:[0-9a-f]{2} ){0,4})", err, re.M)
        eip = re.search(r"EIP=([0-9a-f]+)", err)
        what = disassemble(elf, int(eip.group(1), 16)) if eip else ""
        note = "KVM internal error%s%s%s (QEMU stopped the guest)" % (
            ": emulation failure" if "emulation failure" in err else "",
            " at eip %x" % int(eip.group(1), 16) if eip else "",
            " (%s)" % what if what else " [%s %s]" % (code.group(1), code.group(2).strip()) if code else "")
    return Outcome(False, note=note, wall=getattr(e, "wall", None), cpu=getattr(e, "cpu", None))


def native_cmd(native, phase, scale):
    return [native, "phases=" + phase, "scale=%d" % scale]


def run_native(native, phase, scale, clock="wall", timeout=600):
    try:
        p, wall, cpu = run_measured(native_cmd(native, phase, scale), timeout)
    except subprocess.TimeoutExpired as e:
        return timed_out(e, timeout)
    except OSError as e:
        return Outcome(False, note="cannot run: %s" % e)
    if p.returncode != 0:
        return Outcome(False, note="exit status %d: %s" % (p.returncode, p.stderr.strip()))
    if phase == "none":
        return Outcome(True, secs=0.0, wall=wall, cpu=cpu)
    sums = parse_checksums(p.stdout)
    key = "cputime" if clock == "cpu" else "time"
    times = dict(re.findall(r"^%s (\w+) (\d+)$" % key, p.stdout, re.M))
    if phase not in sums or phase not in times:
        return Outcome(False, note="no checksum printed")
    return Outcome(True, sums.get(phase), int(times[phase]) / 1e9, wall=wall, cpu=cpu)


def kestrel_cmd(kestrel, elf, phase, scale, paging=True, accel=None):
    cmd = [kestrel]
    if accel:
        cmd += ["--accel", accel]
    return cmd + ["--kernel", elf, "--append", args_for(phase, scale, paging), "--stats", "--log", "unimpl",
                  "--serial", "stdio"]


def run_kestrel(kestrel, elf, phase, scale, paging=True, accel=None, clock="wall", timeout=600):
    try:
        p, wall, cpu = run_measured(kestrel_cmd(kestrel, elf, phase, scale, paging, accel), timeout)
    except subprocess.TimeoutExpired as e:
        return timed_out(e, timeout)
    except OSError as e:
        return Outcome(False, note="cannot run: %s" % e)
    m_t = re.search(r"stats after ([0-9.]+) s", p.stderr)
    stats = parse_stats(p.stderr)
    insns = stats.get("insns")
    if p.returncode != OK_STATUS or not m_t:
        note = fault_note(p.stdout, p.returncode, elf)
        unimpl = re.search(r"unimplemented: (\S+)", p.stderr)
        if unimpl:
            note += " (" + unimpl.group(1) + ")"
        err = [ln for ln in p.stderr.splitlines() if ln.startswith("kestrel:") and "stats after" not in ln]
        if p.returncode in (2, 5) and err:
            note += ": " + err[0][len("kestrel:"):].strip()
        return Outcome(False, note=note, wall=wall, cpu=cpu, counters=stats)
    sums = parse_checksums(p.stdout)
    if phase != "none" and phase not in sums:
        return Outcome(False, note="no checksum printed", wall=wall, cpu=cpu, counters=stats)
    secs = cpu if clock == "cpu" else float(m_t.group(1))
    return Outcome(True, sums.get(phase), secs, insns, wall=wall, cpu=cpu, counters=stats)


def qemu_cmd(qemu, elf, phase, scale, paging=True, accel="tcg"):
    return [qemu, "-accel", accel, "-kernel", elf, "-append", args_for(phase, scale, paging),
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04", "-nographic", "-serial", "stdio",
            "-monitor", "none", "-display", "none"]


def run_qemu(qemu, elf, phase, scale, paging=True, accel="tcg", clock="wall", timeout=600):
    try:
        p, wall, cpu = run_measured(qemu_cmd(qemu, elf, phase, scale, paging, accel), timeout)
    except subprocess.TimeoutExpired as e:
        return timed_out(e, timeout, elf)
    except OSError as e:
        return Outcome(False, note="cannot run: %s" % e)
    secs = cpu if clock == "cpu" else wall
    if p.returncode != OK_STATUS:
        note = fault_note(p.stdout, p.returncode, elf)
        err = p.stderr.strip().splitlines()
        if err and not re.search(r"fault vector", p.stdout):
            note += ": " + err[-1][:200]
        return Outcome(False, note=note, wall=wall, cpu=cpu)
    sums = parse_checksums(p.stdout)
    if phase != "none" and phase not in sums:
        return Outcome(False, note="no checksum printed", wall=wall, cpu=cpu)
    return Outcome(True, sums.get(phase), secs, wall=wall, cpu=cpu)
