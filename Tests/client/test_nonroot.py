"""cairnd as an unprivileged user (`nobody`, with directories of its own): it starts, serves
puts and gets over the wire, and stops cleanly. Aerospike's daemon runs as root or not, and many
operators run it under a service account (hack/dist/cairn.service: User=cairn, no capabilities).

Needs root to switch to `nobody`; as any other user the test runs cairnd as that user, which is
just as unprivileged. The example production config in hack/dist parses (its only complaint is
its devices)."""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import aerospike

import pytest

from conftest import CAIRND, ROOT, UNPRIVILEGED, UNPRIVILEGED_REASON, config_text, device_storage, free_port


def unprivileged_ids():
    if os.geteuid() != 0:
        return os.getuid(), os.getgid()
    entry = pwd.getpwnam("nobody")
    return entry.pw_uid, entry.pw_gid


def test_cairnd_as_an_unprivileged_user_serves_puts_and_gets():
    uid, gid = unprivileged_ids()
    directory = tempfile.mkdtemp(prefix="cairn-nonroot-", dir="/tmp")
    shm = tempfile.mkdtemp(prefix="cairn-nonroot-", dir="/dev/shm")
    # Installed as an operator installs it: the build tree may sit where that user cannot reach
    # (a checkout under a 0700 directory, such as a mktemp -d).
    bindir = tempfile.mkdtemp(prefix="cairn-nonroot-bin-", dir="/tmp")
    process = None
    try:
        os.chmod(bindir, 0o755)
        binary = os.path.join(bindir, "cairnd")
        shutil.copy2(CAIRND, binary)
        os.chmod(binary, 0o755)
        for path in (directory, shm):
            os.chown(path, uid, gid) if os.geteuid() == 0 else None
            os.chmod(path, 0o700)
        port = free_port()
        config = os.path.join(directory, "cairn.conf")
        with open(config, "w") as f:
            f.write(config_text(directory, port, device_storage(f"file {directory}/data/test.dat\n        filesize 128M"),
                                shm=shm, pidfile=f"{directory}/run/cairnd.pid"))
        log = os.path.join(directory, "cairnd.log")
        with open(log, "w"):
            pass
        if os.geteuid() == 0:
            os.chown(config, uid, gid)
            os.chown(log, uid, gid)
        process = subprocess.Popen([binary, "--config-file", config], stdout=open(log, "a"), stderr=subprocess.STDOUT,
                                   user=uid, group=gid, extra_groups=[] if os.geteuid() == 0 else None)
        deadline = time.time() + 60
        while True:
            assert process.poll() is None, open(log).read()[-2000:]
            if "service ready" in open(log).read():
                break
            assert time.time() < deadline, open(log).read()[-2000:]
            time.sleep(0.1)
        with open(f"/proc/{process.pid}/status") as f:
            status = f.read()
        assert f"Uid:\t{uid}\t" in status  # really unprivileged
        client = aerospike.client({"hosts": [("127.0.0.1", port)], "policies": {"timeout": 5000}}).connect()
        try:
            for i in range(100):
                client.put(("test", "s", f"k{i}"), {"v": i, "s": "x" * i})
            for i in range(100):
                assert client.get(("test", "s", f"k{i}"))[2] == {"v": i, "s": "x" * i}
        finally:
            client.close()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0, open(log).read()[-2000:]
        assert "finished clean shutdown" in open(log).read()
        assert os.stat(f"{directory}/data/test.dat").st_uid == uid
    finally:
        if process and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
        shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
        shutil.rmtree(bindir, ignore_errors=True)


def test_example_production_config_parses(tmp_path):
    # Its absolute directories moved under tmp_path (nothing is created on this machine).
    with open(os.path.join(ROOT, "hack", "dist", "cairn.conf")) as f:
        text = f.read()
    for directory in ("/var/log/cairn", "/var/lib/cairn", "/run/cairn"):
        text = text.replace(directory, f"{tmp_path}{directory}")
    config = tmp_path / "cairn.conf"
    config.write_text(text)
    result = subprocess.run([CAIRND, "--config-file", str(config)], capture_output=True, text=True, timeout=60)
    output = result.stdout + result.stderr + (tmp_path / "var/log/cairn/cairn.log").read_text()
    assert result.returncode != 0
    # Past the parser and the log sink: the complaint is the first device, missing on this machine.
    assert "cannot open device /dev/nvme1n1" in output, output


def test_shared_daemon_runs_as_the_planned_user(daemon):
    """The shared daemon most of the client suite runs against is unprivileged when the suite is
    root (conftest.py; the test output's header says which user, and why)."""
    with open(f"/proc/{daemon.process.pid}/status") as f:
        status = f.read()
    uid = UNPRIVILEGED[0] if UNPRIVILEGED else os.geteuid()
    assert f"Uid:\t{uid}\t" in status, UNPRIVILEGED_REASON
    if os.geteuid() == 0 and UNPRIVILEGED is None:
        pytest.skip(UNPRIVILEGED_REASON)
