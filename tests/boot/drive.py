#!/usr/bin/env python3
"""Drive a guest through kestrel's serial console and check what it says.

    tests/boot/drive.py --kestrel PATH --images DIR SCENARIO

SCENARIO is one of
  seabios  no guest: SeaBIOS's banner on COM1 and on the VGA text screen
           (--vga-dump), then it finds nothing to boot; --no-reboot ends it
  direct   the kernel + initramfs by direct boot (--kernel/--initrd/--append),
           with the kernel's crypto self-tests on: all must pass
  cdrom    the same from boot.iso through SeaBIOS and ISOLINUX (--cdrom)
  disk     the same from disk.img through SeaBIOS, the MBR and SYSLINUX (--disk)

DIR holds what tests/boot/fetch built. kestrel runs with COM1 on its stdio
pipes (--serial stdio) and --clock icount:4, which skips idle time. The
Linux scenarios wait for the initramfs's marker and the shell prompt, run
commands whose output is checked against an oracle computed here (Python's
hashlib and arithmetic, the kernel package's release, the i440FX's PCI IDs,
the installed SeaBIOS package's version), then `poweroff -f` must end
kestrel with status 0. On failure the last part of the transcript (COM1
and kestrel's stderr) is printed and the status is 1.

busybox ash asks the terminal where the cursor is (ESC[6n) before reading a
line; the reader answers with a cursor-position report, as a terminal would,
so no input is swallowed waiting for one.

Standard library only; bench/linux.py imports the Guest class.
"""
import argparse
import hashlib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import threading
import time

PROMPT = rb"kestrel:[^\r\n#]*# "
# Direct boot keeps the kernel's crypto self-tests (the bootloaders' command
# line, from fetch, skips them to halve the boot).
DIRECT_CMDLINE = "console=ttyS0 quiet"
CPR_QUERY = b"\x1b[6n"


class DriveError(Exception):
    pass


class Guest:
    """A running emulator whose serial console is on our pipes."""

    def __init__(self, cmd, log=None):
        self.cmd = cmd
        self.log = log  # file to copy COM1 output to as it arrives, or None
        self.out = bytearray()  # everything the guest printed on COM1
        self.err = bytearray()  # the emulator's stderr
        self.pos = 0  # expect() searches from here: what is before is consumed
        self.cond = threading.Condition()
        self.eof = False
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     bufsize=0)
        self.rusage = None
        self.threads = [threading.Thread(target=self._read_out, daemon=True),
                        threading.Thread(target=self._read_err, daemon=True)]
        for t in self.threads:
            t.start()

    def _read_out(self):
        scanned = 0
        while True:
            chunk = os.read(self.proc.stdout.fileno(), 65536)
            with self.cond:
                if not chunk:
                    self.eof = True
                    self.cond.notify_all()
                    return
                self.out += chunk
                if self.log:
                    self.log.write(chunk)
                    self.log.flush()
                # Answer ESC[6n before anyone sees it, so the reply is on its
                # way before a waiter sends the next command.
                while True:
                    i = self.out.find(CPR_QUERY, scanned)
                    if i < 0:
                        scanned = max(scanned, len(self.out) - len(CPR_QUERY) + 1)
                        break
                    scanned = i + len(CPR_QUERY)
                    self._answer_cpr(i)
                self.cond.notify_all()

    def _answer_cpr(self, at):
        line = self.out[:at]
        line = line[max(line.rfind(b"\n"), line.rfind(b"\r")) + 1:]
        line = re.sub(rb"\x1b\[[0-9;?]*[A-Za-z]", b"", line)
        self.send(b"\x1b[24;%dR" % (len(line) + 1))

    def _read_err(self):
        while True:
            chunk = os.read(self.proc.stderr.fileno(), 65536)
            if not chunk:
                return
            with self.cond:
                self.err += chunk

    def elapsed(self):
        return time.monotonic() - self.t0

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        try:
            self.proc.stdin.write(data)
            self.proc.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass  # the emulator has gone; the next expect() says so

    def expect(self, pattern, timeout, what=None):
        """Wait for PATTERN (bytes regex) after the consumed part; consume
        through the match and return it."""
        rx = re.compile(pattern if isinstance(pattern, bytes) else pattern.encode())
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                m = rx.search(self.out, self.pos)
                if m:
                    self.pos = m.end()
                    return m
                if self.eof:
                    self.proc.wait()
                    raise DriveError("kestrel exited (status %s) before printing %s" %
                                     (self.proc.returncode, what or pattern))
                left = deadline - time.monotonic()
                if left <= 0:
                    raise DriveError("no %s within %d s" % (what or pattern, timeout))
                self.cond.wait(min(left, 1.0))

    def wait_prompt(self, timeout):
        self.expect(PROMPT, timeout, "shell prompt")
        self._after_prompt()

    def run(self, command, timeout=120):
        """Type COMMAND at the prompt; return its output lines (the echoed
        command line and the next prompt removed)."""
        start = self.pos
        self.send(command + "\n")
        m = self.expect(PROMPT, timeout, "prompt after `%s`" % command)
        text = self.out[start:m.start()].decode("utf-8", "replace").replace("\r", "")
        self._after_prompt()
        _, _, output = text.partition("\n")  # the first line is our echoed command
        return output.splitlines()

    def _after_prompt(self):
        # ash asks for the cursor position right after the prompt when no
        # input is pending; let that exchange finish before typing.
        try:
            self.expect(re.escape(CPR_QUERY), 10, "ESC[6n")
        except DriveError:
            pass

    def wait_exit(self, timeout):
        """Wait for the emulator to exit; return its status."""
        deadline = time.monotonic() + timeout
        while True:
            pid, status, ru = os.wait4(self.proc.pid, os.WNOHANG)
            if pid:
                self.rusage = ru
                self.proc.returncode = os.waitstatus_to_exitcode(status)
                break
            if time.monotonic() > deadline:
                raise DriveError("kestrel still running %d s after the guest was told to stop" % timeout)
            time.sleep(0.05)
        for t in self.threads:
            t.join(5)
        return self.proc.returncode

    def kill(self):
        if self.proc.poll() is None and self.proc.returncode is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def transcript(self, limit=4000):
        def show(b):
            t = b[-limit:].decode("utf-8", "replace").replace("\r", "")
            return re.sub(r"\x1b(\[[0-9;?]*[A-Za-z]|c)", "", t)
        return "---- COM1 (last %d bytes) ----\n%s\n---- kestrel stderr ----\n%s\n----" % (
            limit, show(self.out), show(self.err))


# ---- checks ----

def check(cond, msg):
    if not cond:
        raise DriveError(msg)


def check_line(lines, want, command):
    check(want in lines, "`%s` printed %r, want a line %r" % (command, lines, want))


def seabios_version():
    """The banner's version, from the installed package (1.16.2-1 ->
    1.16.2-debian-1.16.2-1, as Debian's build writes it)."""
    try:
        v = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", "seabios"], capture_output=True, text=True,
                           check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return "%s-debian-%s" % (v.split("-")[0].split(":")[-1], v.split(":")[-1])


def shell_session(g, images, cmdline, boot_timeout, selftests=False, via_loader=False):
    """The checks every Linux scenario runs once the kernel is up; with
    SELFTESTS, also that the kernel's crypto self-tests (known-answer tests
    of every algorithm it registers: a CPU check with vectors nobody here
    wrote) ran and passed."""
    release = open(os.path.join(images, "kernel-release")).read().strip()
    g.expect(rb"KESTREL-INIT-OK " + re.escape(release.encode()), boot_timeout, "the initramfs's marker")
    g.wait_prompt(120)
    print("drive: shell prompt after %.1f s" % g.elapsed(), flush=True)

    check_line(g.run("uname -r"), release, "uname -r")
    check_line(g.run("uname -m"), "i686", "uname -m")
    got = g.run("cat /proc/cmdline")
    if via_loader:  # SYSLINUX adds BOOT_IMAGE= and initrd= to what its configuration says
        words = got[-1].split() if got else []
        check(all(w in words for w in cmdline.split() + ["BOOT_IMAGE=/vmlinuz", "initrd=/initrd.gz"]),
              "/proc/cmdline is %r, want %r with BOOT_IMAGE=/vmlinuz and initrd=/initrd.gz" % (got, cmdline))
    else:
        check_line(got, cmdline, "cat /proc/cmdline")
    check_line(g.run("echo $(( (12345 * 6789 + 42) % 1013 )) $(( 1 << 20 )) $(( -7 / 2 ))"),
               "%d %d %d" % ((12345 * 6789 + 42) % 1013, 1 << 20, -3), "shell arithmetic")
    check_line(g.run("echo kestrel | md5sum"), hashlib.md5(b"kestrel\n").hexdigest() + "  -", "md5sum")
    check_line(g.run("echo kestrel | sha256sum"), hashlib.sha256(b"kestrel\n").hexdigest() + "  -", "sha256sum")
    zeros = hashlib.md5(b"\0" * 262144).hexdigest()
    check_line(g.run("dd if=/dev/zero bs=4096 count=64 2>/dev/null | md5sum"), zeros + "  -", "dd | md5sum")

    cpu = g.run("cat /proc/cpuinfo")
    check_line(cpu, "processor\t: 0", "cat /proc/cpuinfo")
    check(any(re.match(r"flags\t+: .*\bfpu\b.*\btsc\b", line) for line in cpu),
          "/proc/cpuinfo has no flags line with fpu and tsc: %r" % cpu)
    check_line(g.run("grep -c ^processor /proc/cpuinfo"), "1", "grep -c ^processor /proc/cpuinfo")

    mounts = g.run("mount")
    for want in ("proc on /proc type proc", "sysfs on /sys type sysfs", "devtmpfs on /dev type devtmpfs"):
        check(any(line.startswith(want) for line in mounts), "`mount` printed %r, want %r" % (mounts, want))

    pci = g.run("ls /sys/bus/pci/devices")
    check(any("0000:00:00.0" in line for line in pci), "no host bridge in /sys/bus/pci/devices: %r" % pci)
    check(any("0000:00:01.0" in line for line in pci), "no ISA bridge in /sys/bus/pci/devices: %r" % pci)
    ids = g.run("cat /sys/bus/pci/devices/0000:00:00.0/vendor /sys/bus/pci/devices/0000:00:00.0/device")
    check(ids[-2:] == ["0x8086", "0x1237"], "host bridge IDs %r, want the i440FX's 0x8086 0x1237" % ids)
    check_line(g.run("cat /sys/class/tty/console/active"), "ttyS0", "cat /sys/class/tty/console/active")

    if selftests:
        alg = g.run("dmesg | grep 'alg:'")
        check(not any("fail" in line or "disabled" in line for line in alg),
              "crypto self-tests failed or did not run: %r" % alg)
        results = g.run("grep '^selftest' /proc/crypto | sort | uniq -c")
        m = re.fullmatch(r"\s*(\d+) selftest\s*: passed", results[-1]) if len(results) == 1 else None
        check(m and int(m.group(1)) >= 20, "/proc/crypto's self-test results are %r, want every one passed "
              "(at least 20 algorithms)" % results)
        print("drive: %s crypto algorithms passed their self-tests" % m.group(1), flush=True)

    g.send("poweroff -f\n")
    status = g.wait_exit(120)
    check(status == 0, "kestrel exited with status %d after poweroff -f (want 0: ACPI S5)" % status)
    print("drive: powered off after %.1f s" % g.elapsed(), flush=True)


def scenario_seabios(args, base):
    dump = tempfile.NamedTemporaryFile(prefix="kestrel-vga-", suffix=".txt", delete=False)
    dump.close()
    try:
        g = Guest(base + ["--no-reboot", "--vga-dump", dump.name], args.log)
        try:
            m = g.expect(rb"SeaBIOS \(version ([^)\r\n]+)\)", 120, "SeaBIOS's banner on COM1")
            g.expect(rb"No bootable device", 120, "SeaBIOS giving up on COM1")
            status = g.wait_exit(120)
        except DriveError:
            g.kill()
            raise
        finally:
            args.guest = g
        check(status == 0, "kestrel exited with status %d when SeaBIOS rebooted under --no-reboot (want 0)" %
              status)
        version = m.group(1).decode()
        want = seabios_version()
        check(want is None or version == want, "banner says version %s, the seabios package is %s" %
              (version, want))
        screen = open(dump.name, encoding="utf-8").read()
        print("---- VGA text screen ----\n%s----" % screen.rstrip("\n") + "\n", flush=True)
        lines = screen.splitlines()
        check(lines and lines[0].rstrip() == "SeaBIOS (version %s)" % version,
              "the VGA screen's first line is %r, want SeaBIOS's banner" % (lines[0] if lines else ""))
        check(any(line.startswith("No bootable device.") for line in lines),
              "the VGA screen does not say 'No bootable device.'")
        print("drive: SeaBIOS %s on COM1 and VGA" % version)
    finally:
        os.unlink(dump.name)


def scenario_linux(args, base, extra, banners, cmdline, selftests=False):
    via_loader = bool(banners)
    g = Guest(base + extra, args.log)
    args.guest = g
    try:
        for rx, what in banners:
            g.expect(rx, 300, what)
        shell_session(g, args.images, cmdline, args.timeout, selftests, via_loader)
    except DriveError:
        g.kill()
        raise


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("scenario", choices=["seabios", "direct", "cdrom", "disk"])
    ap.add_argument("--kestrel", required=True)
    ap.add_argument("--images", help="what tests/boot/fetch built (not needed for seabios)")
    ap.add_argument("--timeout", type=float, default=900, help="seconds to wait for the kernel to boot")
    ap.add_argument("--log", help="copy COM1 output to this file as it arrives")
    ap.add_argument("--kestrel-args", default="", help="more kestrel options, e.g. '--accel interp'")
    args = ap.parse_args()
    args.guest = None
    base = [args.kestrel, "--clock", "icount:4", "--serial", "stdio"] + shlex.split(args.kestrel_args)
    if args.scenario != "seabios":
        if not args.images:
            ap.error("--images is needed for %s" % args.scenario)
        for f in ("vmlinuz", "initrd.gz", "kernel-release", "cmdline"):
            if not os.path.exists(os.path.join(args.images, f)):
                print("drive: %s has no %s: run tests/boot/fetch first" % (args.images, f))
                return 1
    args.log = open(args.log, "wb") if args.log else None
    img = lambda f: os.path.join(args.images, f)  # noqa: E731
    seabios = (rb"SeaBIOS \(version", "SeaBIOS's banner")
    try:
        if args.scenario == "seabios":
            scenario_seabios(args, base)
        elif args.scenario == "direct":
            scenario_linux(args, base, ["--kernel", img("vmlinuz"), "--initrd", img("initrd.gz"),
                                        "--append", DIRECT_CMDLINE], [], DIRECT_CMDLINE, selftests=True)
        else:
            # The bootloaders pass the command line fetch wrote into their
            # configuration (without the crypto self-tests).
            cmdline = open(img("cmdline")).read().strip()
            if args.scenario == "cdrom":
                scenario_linux(args, base, ["--cdrom", img("boot.iso"), "--boot", "d"],
                               [seabios, (rb"ISOLINUX \d", "ISOLINUX's banner")], cmdline)
            else:
                # A private copy: the guest may write to its disk, and the
                # same image boots under each accelerator at once in CTest
                # (kestrel refuses an image another kestrel has in use).
                with tempfile.TemporaryDirectory() as tmp:
                    disk = os.path.join(tmp, "disk.img")
                    shutil.copyfile(img("disk.img"), disk)
                    scenario_linux(args, base, ["--disk", disk, "--boot", "c"],
                                   [seabios, (rb"SYSLINUX \d", "SYSLINUX's banner")], cmdline)
    except DriveError as e:
        if args.guest:
            print(args.guest.transcript())
        print("drive: %s: FAILED after %.1f s: %s" % (args.scenario, args.guest.elapsed() if args.guest else 0, e))
        return 1
    finally:
        if args.log:
            args.log.close()
    print("drive: %s: passed" % args.scenario)
    return 0


if __name__ == "__main__":
    sys.exit(main())
