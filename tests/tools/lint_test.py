"""Self-test of tools/lint-core.py: each rule must catch what it is for,
and comments, strings and opt-outs must not trip it."""
import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
LINT = os.path.join(ROOT, "tools", "lint-core.py")


def lint(source, name="x.cc"):
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, name), "w") as f:
            f.write(source)
        p = subprocess.run([sys.executable, LINT, d], capture_output=True, text=True)
        return p.returncode, p.stdout


class LintCatches(unittest.TestCase):
    def assertCaught(self, source, rule):
        code, out = lint(source)
        self.assertEqual(code, 1, out)
        self.assertIn(f"[{rule}]", out)

    def test_real_clocks(self):
        self.assertCaught("auto t = std::chrono::steady_clock::now();\n", "clock")
        self.assertCaught("auto t = std::chrono::system_clock::now();\n", "clock")
        self.assertCaught("long t = time(nullptr);\n", "clock")
        self.assertCaught("clock_gettime(CLOCK_MONOTONIC, &ts);\n", "clock")

    def test_threads_and_locks(self):
        self.assertCaught("std::thread t([]{});\n", "thread")
        self.assertCaught("auto f = std::async([]{ return 1; });\n", "thread")
        self.assertCaught("std::mutex m;\n", "lock")
        self.assertCaught("std::atomic<int> n;\n", "lock")

    def test_randomness(self):
        self.assertCaught("std::random_device rd;\n", "random")
        self.assertCaught("int x = rand();\n", "random")
        self.assertCaught("std::mt19937 g(1);\n", "random")
        self.assertCaught("std::uniform_int_distribution<int> d(0, 9);\n", "random")

    def test_environment_and_unordered(self):
        self.assertCaught('auto v = getenv("X");\n', "env")
        self.assertCaught("std::unordered_map<int, int> m;\n", "unordered")

    def test_io(self):
        self.assertCaught('FILE* f = fopen("x", "r");\n', "io")
        self.assertCaught("std::ofstream out;\n", "io")
        self.assertCaught("::fsync(fd);\n", "io")

    def test_includes(self):
        self.assertCaught("#include <thread>\n", "include")
        self.assertCaught("#include <chrono>\n", "include")
        self.assertCaught('#include "sim/disk.h"\n', "include")
        self.assertCaught('#include "rocksdb/db.h"\n', "include")


class LintIgnores(unittest.TestCase):
    def assertClean(self, source):
        code, out = lint(source)
        self.assertEqual(code, 0, out)

    def test_comments_and_strings(self):
        self.assertClean("// never call std::chrono::steady_clock::now() here\n")
        self.assertClean("/* std::thread\n std::mutex */ int x = 1;\n")
        self.assertClean('const char* s = "std::unordered_map rand() time(0)";\n')
        self.assertClean('auto r = R"(std::thread)";\n')

    def test_method_calls_and_names(self):
        self.assertClean("env.send(std::move(e));\nvoid send(int x);\nint runtime(int);\n")
        self.assertClean("#include <map>\n#include \"core/common/types.h\"\n")

    def test_opt_out(self):
        self.assertClean("std::unordered_map<int, int> m;  // lint: allow unordered (lookup only)\n")


class LintTheTree(unittest.TestCase):
    def test_core_is_clean(self):
        p = subprocess.run([sys.executable, LINT, os.path.join(ROOT, "core")], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stdout)


if __name__ == "__main__":
    unittest.main()
