"""Node identity: the default node-id is derived per node (MAC of the first interface + service
port), so two nodes with the same namespace name in one shm-directory keep their own shared-memory
segments and both restart warm; two nodes forced onto the same node-id cannot share segments (the
second is refused, naming the holder's pid); a shm-directory that is not a tmpfs is warned about."""
import os
import re
import shutil
import subprocess
import tempfile

from conftest import CAIRND, Daemon, config_text, connect, device_storage, free_port


def put_and_check(daemon, count, check_only=False):
    c = connect(daemon)
    try:
        for i in range(count):
            key = ("test", "s", f"k{i}")
            if not check_only:
                c.put(key, {"v": i})
            assert c.get(key)[2]["v"] == i
    finally:
        c.close()


def node_id_of(daemon):
    match = re.findall(r"node id ([0-9A-F]+) \(from ([^)]*)\)", daemon.log_text())
    assert match, daemon.log_text()[-2000:]
    return match[-1]


def test_two_nodes_on_one_shm_directory_both_restart_warm(tmp_path):
    shm = tempfile.mkdtemp(prefix="cairn-test-shared-", dir="/dev/shm")
    nodes = []
    try:
        for name in ("a", "b"):
            directory = tmp_path / name
            directory.mkdir()
            d = Daemon(str(directory), free_port())
            shutil.rmtree(d.shm, ignore_errors=True)
            d.shm = shm  # one shm-directory for both
            d.write_config()
            nodes.append(d)
        for d in nodes:
            d.start()
            put_and_check(d, 100)
        ids = [node_id_of(d)[0] for d in nodes]
        assert ids[0] != ids[1], ids
        assert "BB9A1B2C3D4E5F6" not in ids
        for d in nodes:
            assert d.stop() == 0
        for d in nodes:
            d.start()
        for d in nodes:
            put_and_check(d, 100, check_only=True)
            assert "{test} warm restart" in d.log_text(), d.log_text()[-3000:]
            assert "cold start begins" not in d.log_text(), d.log_text()[-3000:]
            assert node_id_of(d)[0] == ids[nodes.index(d)]  # stable across restarts
        for d in nodes:
            assert d.stop() == 0
    finally:
        for d in nodes:
            if d.process:
                d.stop()
        shutil.rmtree(shm, ignore_errors=True)


def test_same_node_id_and_namespace_in_one_shm_directory_is_refused(tmp_path):
    shm = tempfile.mkdtemp(prefix="cairn-test-shared-", dir="/dev/shm")
    first = Daemon(str(tmp_path), free_port())
    try:
        shutil.rmtree(first.shm, ignore_errors=True)
        first.shm = shm
        text = config_text(str(tmp_path), first.port, storage=first.storage, shm=shm,
                           pidfile=f"{tmp_path}/cairnd.pid")
        with open(first.config, "w") as f:
            f.write(text.replace("service {\n", "service {\n    node-id A1B2\n", 1))
        first.start()
        put_and_check(first, 20)
        other = tmp_path / "other"
        other.mkdir()
        second = os.path.join(str(other), "second.conf")
        storage = device_storage(f"file {other}/test.dat\n        filesize 256M")
        text = config_text(str(other), free_port(), storage=storage, shm=shm, pidfile=f"{other}/cairnd.pid")
        with open(second, "w") as f:
            f.write(text.replace("service {\n", "service {\n    node-id A1B2\n", 1))
        result = subprocess.run([CAIRND, "--config-file", second], capture_output=True, text=True, timeout=60)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert f"held by another live cairnd (pid {first.process.pid})" in output, output
        assert not os.path.exists(f"{other}/test.dat")  # refused before its storage was touched
        # The first node's segments are intact: its restart is warm.
        assert first.stop() == 0
        first.start()
        put_and_check(first, 20, check_only=True)
        assert first.log_text().count("{test} warm restart finished") == 1, first.log_text()[-3000:]
        assert first.stop() == 0
    finally:
        if first.process:
            first.stop()
        shutil.rmtree(shm, ignore_errors=True)


def test_shm_directory_not_on_tmpfs_is_warned_about(tmp_path):
    d = Daemon(str(tmp_path), free_port())
    shutil.rmtree(d.shm, ignore_errors=True)
    d.shm = str(tmp_path / "shm")  # on the test's disk, not a tmpfs
    d.write_config()
    d.start()
    try:
        put_and_check(d, 5)
    finally:
        assert d.stop() == 0
    if subprocess.run(["stat", "-f", "-c", "%T", str(tmp_path)], capture_output=True, text=True).stdout.strip() != "tmpfs":
        assert f"shm-directory {d.shm} is not a tmpfs" in d.log_text(), d.log_text()[-2000:]
