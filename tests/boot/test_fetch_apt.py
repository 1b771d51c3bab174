#!/usr/bin/env python3
"""How tests/boot/fetch copes with a failing `apt-get update`.

A Debian mirror mid-sync fails `apt-get update` as a whole (seen here for
days: bookworm-security's i386 list with the wrong size) while the lists
the boot tests need are fine. fetch then tries once more and goes by what
apt knows: only a kernel package apt still cannot find is fatal. The
commands are simulated here (fetch's `run` and `apt_show` replaced), so
this runs anywhere, without root or network.
"""
import importlib.machinery
import importlib.util
import os
import types
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def load_fetch():
    loader = importlib.machinery.SourceFileLoader("kestrel_fetch", os.path.join(HERE, "fetch"))
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


META = {"Package": "linux-image-686", "Depends": "linux-image-6.1.0-99-686 (= 6.1.1-1)"}


class Apt:
    """The commands fetch runs: `update_results` says how each apt-get
    update ends (True: success), `meta_after` after how many updates apt
    knows the kernel metapackage (None: never)."""

    def __init__(self, fetch, foreign, update_results, meta_after):
        self.fetch = fetch
        self.foreign = foreign
        self.update_results = list(update_results)
        self.meta_after = meta_after
        self.updates = 0
        self.commands = []

    def run(self, cmd, **kw):
        self.commands.append(cmd)
        if cmd[:2] == ["dpkg", "--print-foreign-architectures"]:
            return self.foreign
        if cmd[:2] == ["dpkg", "--add-architecture"]:
            return ""
        if cmd[:2] == ["apt-get", "update"]:
            self.updates += 1
            if not self.update_results.pop(0):
                raise self.fetch.FetchError("`apt-get update -qq` failed (status 100):\nE: File has unexpected size "
                                            "(Mirror sync in progress?) [attempt %d]" % self.updates)
            return ""
        raise AssertionError("unexpected command %s" % cmd)

    def apt_show(self, pkgs):
        known = self.meta_after is not None and self.updates >= self.meta_after
        return {self.fetch.KERNEL_META: META} if known else {}


class FetchAptTest(unittest.TestCase):
    def setUp(self):
        self.fetch = load_fetch()
        self.args = types.SimpleNamespace(quiet=True)
        self.fetch.as_root = lambda cmd: cmd

    def use(self, apt):
        self.fetch.run = apt.run
        self.fetch.apt_show = apt.apt_show
        return apt

    def test_update_tried_twice_then_failure_text(self):
        apt = self.use(Apt(self.fetch, "i386\n", [False, False], 0))
        err = self.fetch.apt_update(self.args)
        self.assertEqual(apt.updates, 2)
        self.assertIn("Mirror sync in progress", err)
        self.assertIn("[attempt 2]", err)

    def test_update_second_attempt_succeeds(self):
        apt = self.use(Apt(self.fetch, "i386\n", [False, True], 0))
        self.assertEqual(self.fetch.apt_update(self.args), "")
        self.assertEqual(apt.updates, 2)

    def test_update_first_attempt_succeeds(self):
        apt = self.use(Apt(self.fetch, "i386\n", [True], 0))
        self.assertEqual(self.fetch.apt_update(self.args), "")
        self.assertEqual(apt.updates, 1)

    def test_failed_update_not_fatal_when_apt_knows_the_kernel(self):
        # i386 newly enabled, both updates fail, the lists apt has do the job
        apt = self.use(Apt(self.fetch, "", [False, False], 0))
        self.assertEqual(self.fetch.ensure_apt(self.args), META)
        self.assertIn(["dpkg", "--add-architecture", "i386"], apt.commands)
        self.assertEqual(apt.updates, 2)  # one round of two attempts, not another

    def test_kernel_unknown_after_failed_update_is_fatal_with_the_reason(self):
        apt = self.use(Apt(self.fetch, "i386\n", [False, False], None))
        with self.assertRaises(self.fetch.FetchError) as e:
            self.fetch.ensure_apt(self.args)
        self.assertIn("apt knows no package", str(e.exception))
        self.assertIn("Mirror sync in progress", str(e.exception))

    def test_one_round_of_updates_when_i386_was_just_enabled(self):
        apt = self.use(Apt(self.fetch, "", [False] * 4, None))
        with self.assertRaises(self.fetch.FetchError):
            self.fetch.ensure_apt(self.args)
        self.assertEqual(apt.updates, 2)

    def test_update_only_when_apt_lacks_the_kernel(self):
        apt = self.use(Apt(self.fetch, "i386\n", [], 0))
        self.assertEqual(self.fetch.ensure_apt(self.args), META)
        self.assertEqual(apt.updates, 0)
        apt = self.use(Apt(self.fetch, "i386\n", [True], 1))
        self.assertEqual(self.fetch.ensure_apt(self.args), META)
        self.assertEqual(apt.updates, 1)


if __name__ == "__main__":
    unittest.main()
