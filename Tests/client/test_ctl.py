"""cairnctl and cairnd operated as an operator would: the real binaries, detached daemons, pid
files, LSB exit codes, SIGTERM/SIGKILL/SIGHUP, and the official Aerospike client for the data.

Every test runs its own node in a temp dir on a free 127.0.0.1 port and stops it (by the pid in
its pid file) in teardown."""
import hashlib
import os
import re
import shutil
import signal
import subprocess
import tempfile

import aerospike
import pytest

from conftest import CAIRND, ROOT, config_text, device_storage, free_port, wait_until

CAIRNCTL = os.environ.get("CAIRNCTL", os.path.join(os.path.dirname(CAIRND), "cairnctl"))
NS = "test"


def node_config(directory, port, file_log=True, device=None, commit_to_device=True):
    backing = f"device {device}" if device else f"file {directory}/data/test.dat\n        filesize 128M"
    return config_text(directory, port, storage=device_storage(backing, commit_to_device), shm=f"{directory}/shm",
                       pidfile=f"{directory}/run/cairnd.pid",
                       file_log=f"{directory}/log/cairnd.log" if file_log else None)


class Node:
    """One configuration, operated only through cairnctl (except the kill -9)."""

    def __init__(self, directory, file_log=True):
        self.directory = directory
        self.port = free_port()
        self.config = os.path.join(directory, "cairn.conf")
        self.pid_file = os.path.join(directory, "run", "cairnd.pid")
        self.log = os.path.join(directory, "log", "cairnd.log") if file_log else os.path.join(directory, "cairnd.log")
        with open(self.config, "w") as f:
            f.write(node_config(directory, self.port, file_log=file_log))

    def ctl(self, *args, timeout=180):
        env = dict(os.environ, CAIRND=CAIRND)
        return subprocess.run([CAIRNCTL, *args, "--config-file", self.config], capture_output=True, text=True,
                              timeout=timeout, env=env)

    def pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def log_text(self):
        try:
            with open(self.log) as f:
                return f.read()
        except OSError:
            return ""

    def client(self):
        return aerospike.client({"hosts": [("127.0.0.1", self.port)]}).connect()

    def teardown(self):
        """Stops the node if a test left it running: SIGTERM by pid, wait (the test fails if it
        would need more than a minute)."""
        pid = self.pid()
        if pid is None or not alive(pid):
            return
        os.kill(pid, signal.SIGTERM)
        assert wait_until(lambda: not alive(pid), 60), f"cairnd {pid} did not stop on SIGTERM"


def alive(pid):
    """Exists and is not a zombie (PID 1 here may not reap the detached daemon)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.fixture()
def node(tmp_path):
    n = Node(str(tmp_path))
    yield n
    n.teardown()


def expect(result, code, *phrases):
    text = result.stdout + result.stderr
    assert result.returncode == code, f"exit {result.returncode}, wanted {code}:\n{text}"
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not in:\n{text}"
    return text


RECORDS = {f"k{i}": {"i": i, "s": "v" * (i % 50), "f": i / 4} for i in range(200)}


def put_records(node):
    c = node.client()
    try:
        for name, bins in RECORDS.items():
            c.put((NS, "ctl", name), bins)
    finally:
        c.close()


def check_records(node):
    c = node.client()
    try:
        for name, bins in RECORDS.items():
            _, _, got = c.get((NS, "ctl", name))
            assert got == bins, name
    finally:
        c.close()


def test_lifecycle_start_stop_kill_coldstart_restart(node):
    expect(node.ctl("status"), 3, "not running")
    expect(node.ctl("start"), 0, "ready", node.log)
    pid = node.pid()
    assert pid and alive(pid)
    expect(node.ctl("status"), 0, f"running (pid {pid})", "ready")
    info = node.ctl("info", "-v", "status")
    assert info.returncode == 0 and info.stdout == "ok\n", info
    put_records(node)

    # Clean stop: the log says so, the pid file is gone, status 3.
    expect(node.ctl("stop"), 0, "finished clean shutdown")
    assert not alive(pid)
    assert "finished clean shutdown" in node.log_text()
    assert not os.path.exists(node.pid_file)
    expect(node.ctl("status"), 3, "not running")

    # Start after a clean stop: warm (the shared-memory index re-attached, no record data read).
    mark = len(node.log_text())
    expect(node.ctl("start"), 0, "ready")
    assert re.search(r"warm restart finished in .* record_data_reads=0", node.log_text()[mark:]), node.log_text()[mark:]
    check_records(node)

    # kill -9: status 1 (dead, pid file left), then a cold start finds every acked write
    # (commit-to-device true).
    pid = node.pid()
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not alive(pid), 30)
    expect(node.ctl("status"), 1, "dead but pid file", str(pid))
    mark = len(node.log_text())
    expect(node.ctl("coldstart"), 0, "cold start", "ready")
    assert "cold start begins: cold start requested (--cold-start)" in node.log_text()[mark:]
    assert "--cold-start" in open(f"/proc/{node.pid()}/cmdline").read().replace("\0", " ")
    check_records(node)

    before = node.pid()
    mark = len(node.log_text())
    expect(node.ctl("restart"), 0, "finished clean shutdown", "ready")
    assert node.pid() != before
    assert "warm restart finished" in node.log_text()[mark:]
    check_records(node)
    expect(node.ctl("stop"), 0, "finished clean shutdown")
    expect(node.ctl("status"), 3)


def test_start_twice_refuses_and_stop_on_stopped_node(tmp_path):
    # Console-only logging: cairnctl puts cairnd's output in <work-directory>/cairnd.log.
    node = Node(str(tmp_path), file_log=False)
    try:
        expect(node.ctl("start"), 0, "ready", os.path.join(str(tmp_path), "cairnd.log"))
        pid = node.pid()
        second = expect(node.ctl("start"), 1, "already running", str(pid))
        assert "is ready" not in second and "starting cairnd" not in second
        assert node.pid() == pid and alive(pid)
        assert "service ready" in node.log_text()
        expect(node.ctl("stop"), 0, "finished clean shutdown")
        expect(node.ctl("stop"), 0, "not running", "nothing to stop")
        expect(node.ctl("status"), 3, "not running")
    finally:
        node.teardown()


def test_stop_with_stale_pid_file_says_so(node):
    os.makedirs(os.path.dirname(node.pid_file), exist_ok=True)
    # A pid that is certainly not a live cairnd: this test's own pid is python.
    with open(node.pid_file, "w") as f:
        f.write(f"{os.getpid()}\n")
    expect(node.ctl("status"), 1, "dead but pid file")
    expect(node.ctl("stop"), 0, "not running", "did not stop cleanly")
    # start takes the stale pid file over.
    expect(node.ctl("start"), 0, "was not clean", "ready")
    expect(node.ctl("stop"), 0, "finished clean shutdown")


def test_start_with_broken_config_prints_the_error_line(node):
    with open(node.config) as f:
        lines = f.read().splitlines()
    index = next(i for i, line in enumerate(lines) if "flush-max-ms" in line)
    lines[index] = "        flush-max-msec 100"
    with open(node.config, "w") as f:
        f.write("\n".join(lines) + "\n")
    result = node.ctl("start")
    expect(result, 6, f"cairn.conf:{index + 1}:", "flush-max-msec")
    assert node.pid() is None
    expect(node.ctl("status"), 4, f"cairn.conf:{index + 1}:")


def test_start_reports_the_log_when_cairnd_dies(node):
    # Valid config, but the data file's directory is a file: cairnd fails during start.
    os.makedirs(os.path.join(node.directory, "log"), exist_ok=True)
    with open(os.path.join(node.directory, "data"), "w") as f:
        f.write("not a directory\n")
    text = expect(node.ctl("start"), 1, "exited", "before it was ready", "last lines of")
    assert "data" in text
    assert node.pid() is None, "cairnd must remove its pid file when it fails to start"


def test_sighup_reopens_the_log_file(node):
    expect(node.ctl("start"), 0, "ready")
    rotated = node.log + ".1"
    os.rename(node.log, rotated)
    os.kill(node.pid(), signal.SIGHUP)
    assert wait_until(lambda: os.path.exists(node.log), 30), "SIGHUP did not create a new log file"
    expect(node.ctl("stop"), 0, "finished clean shutdown")
    fresh = node.log_text()
    assert "log files reopened" in fresh and "finished clean shutdown" in fresh
    old = open(rotated).read()
    assert "service ready" in old and "finished clean shutdown" not in old


def test_info_prints_values_like_asinfo(node):
    expect(node.ctl("start"), 0, "ready")
    env = dict(os.environ)
    direct = subprocess.run([CAIRNCTL, "info", "-v", "namespaces", "-h", "127.0.0.1", "-p", str(node.port)],
                            capture_output=True, text=True, timeout=30, env=env)
    assert direct.returncode == 0 and direct.stdout == "test\n", direct
    bad = node.ctl("info", "-v", "no-such-command")
    assert bad.returncode == 1 and bad.stdout.startswith("ERROR:"), bad
    refused = subprocess.run([CAIRNCTL, "info", "-v", "status", "-h", "127.0.0.1", "-p", str(free_port())],
                             capture_output=True, text=True, timeout=30)
    assert refused.returncode == 1 and "cannot connect" in refused.stderr, refused
    expect(node.ctl("stop"), 0, "finished clean shutdown")


# ---- config acceptance against the real cairnd: errors name the line, devices untouched ----

def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


BAD_CONFIGS = {
    "unknown key": ("flush-max-ms 100", "flush-max-msec 100"),
    "bad size suffix": ("write-block-size 1M", "write-block-size 1Q"),
    "missing closing brace": ("        commit-to-device true\n    }", "        commit-to-device true\n"),
    "bad boolean": ("commit-to-device true", "commit-to-device maybe"),
    "port out of range": ("port {port}", "port 70000"),
    "write-block-size not a power of two": ("write-block-size 1M", "write-block-size 3M"),
    "replication-factor 2": ("replication-factor 1", "replication-factor 2"),
    "unknown stanza": ("network {", "netwerk {"),
}


@pytest.mark.parametrize("name", sorted(BAD_CONFIGS))
def test_bad_config_names_the_line_and_leaves_the_device_alone(tmp_path, name):
    directory = str(tmp_path)
    port = free_port()
    device = os.path.join(directory, "device.img")
    # A "device" that already holds data: a file with a recognisable pattern.
    with open(device, "wb") as f:
        for i in range(256):
            f.write(bytes([i]) * 4096)
    digest = sha256(device)
    good = node_config(directory, port, file_log=False, device=device)
    old, new = BAD_CONFIGS[name]
    old = old.replace("{port}", str(port))
    assert old in good, name
    bad = good.replace(old, new, 1)
    config = os.path.join(directory, "cairn.conf")
    with open(config, "w") as f:
        f.write(bad)
    result = subprocess.run([CAIRND, "--config-file", config, "--foreground"], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode != 0, name
    assert f"{config}:" in result.stderr, result.stderr
    assert any(part.isdigit() for part in result.stderr.split(f"{config}:", 1)[1].split(":")[:1]), result.stderr
    assert sha256(device) == digest, f"{name}: the device was changed"
    assert not os.path.exists(os.path.join(directory, "run", "cairnd.pid"))


def test_two_namespaces_on_one_device_and_missing_device(tmp_path):
    directory = str(tmp_path)
    device = os.path.join(directory, "device.img")
    with open(device, "wb") as f:
        f.write(b"\xa5" * (1 << 20))
    digest = sha256(device)
    text = node_config(directory, free_port(), file_log=False, device=device)
    second = text[text.index("namespace test"):].replace("namespace test", "namespace other")
    config = os.path.join(directory, "cairn.conf")
    with open(config, "w") as f:
        f.write(text + second)
    result = subprocess.run([CAIRND, "--config-file", config], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "already used by namespace test" in result.stderr, result.stderr
    assert sha256(device) == digest

    # A device path that does not exist: a clear error with the path and ENOENT, no pid file.
    missing = os.path.join(directory, "no-such-device")
    with open(config, "w") as f:
        f.write(node_config(directory, free_port(), file_log=False, device=missing))
    result = subprocess.run([CAIRND, "--config-file", config], capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert missing in result.stderr and "ENOENT" in result.stderr, result.stderr
    assert not os.path.exists(missing)
    assert not os.path.exists(os.path.join(directory, "run", "cairnd.pid"))


def test_device_without_access_names_path_and_eacces(tmp_path):
    """cairnd run as a user that may not open the device: EACCES with the path, exit non-zero,
    no pid file left behind."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        pytest.skip("running as root without setpriv: cannot run cairnd as another user here")
    directory = tempfile.mkdtemp(prefix="cairn-eacces-")  # not under pytest's 0700 tmp dirs
    try:
        os.chmod(directory, 0o777)
        device = os.path.join(directory, "device.img")
        with open(device, "wb") as f:
            f.write(b"\x5a" * (1 << 20))
        os.chmod(device, 0o600 if os.geteuid() == 0 else 0)
        digest = sha256(device)
        config = os.path.join(directory, "cairn.conf")
        with open(config, "w") as f:
            f.write(node_config(directory, free_port(), file_log=False, device=device))
        os.chmod(config, 0o644)
        command = [CAIRND, "--config-file", config]
        if os.geteuid() == 0:
            # The binary must be reachable by the unprivileged user.
            binary = os.path.join(directory, "cairnd")
            shutil.copy(CAIRND, binary)
            os.chmod(binary, 0o755)
            command = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", binary, "--config-file", config]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60)
        assert result.returncode != 0
        assert device in result.stderr and "EACCES" in result.stderr, result.stderr
        assert not os.path.exists(os.path.join(directory, "run", "cairnd.pid"))
        if os.geteuid() == 0:
            assert sha256(device) == digest
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# ---- hack/dist scripts, run against cairnctl from the build (nothing is installed) ----

DIST = os.path.join(ROOT, "hack", "dist")


def test_init_script_and_coldstart_helper(node):
    env = dict(os.environ, CAIRNCTL=CAIRNCTL, CAIRND=CAIRND, CAIRN_CONFIG=node.config)
    script = os.path.join(DIST, "cairn")

    def run(*args):
        return subprocess.run(["sh", script, *args], capture_output=True, text=True, timeout=180, env=env)

    expect(run("status"), 3, "not running")
    expect(run("start"), 0, "ready")
    expect(run("start"), 0, "already running")  # LSB: start on a running service succeeds
    put_records(node)
    expect(run("restart"), 0, "finished clean shutdown", "ready")
    check_records(node)
    expect(run("stop"), 0, "finished clean shutdown")
    expect(run("stop"), 0, "nothing to stop")
    expect(run("bogus"), 2, "Usage")
    if os.path.isdir("/run/systemd/system") or os.path.exists("/etc/init.d/cairn"):
        pytest.skip("cairn-coldstart would use this machine's systemd or init.d: not run here")
    helper = subprocess.run(["sh", os.path.join(DIST, "cairn-coldstart"), "--config-file", node.config],
                            capture_output=True, text=True, timeout=180, env=env)
    expect(helper, 0, "cold start", "ready")
    assert "--cold-start" in open(f"/proc/{node.pid()}/cmdline").read().replace("\0", " ")
    check_records(node)
    expect(run("stop"), 0, "finished clean shutdown")
