"""Log rotation and the stop confirmation: after mv + SIGHUP, cairnd's stdout and stderr land in
the new file with its log lines; `cairnctl stop` confirms a clean stop whatever the log level
(cairnd records how it ended next to its pid file); with no file sink and no work-directory,
cairnctl refuses to start rather than silently create /opt/cairn/cairnd.log."""
import os
import signal

from conftest import wait_until
from test_ctl import Node, expect


def fd_target(pid, fd):
    return os.readlink(f"/proc/{pid}/fd/{fd}")


def rotate_and_check(node):
    expect(node.ctl("start"), 0, "ready")
    pid = node.pid()
    assert fd_target(pid, 1) == node.log and fd_target(pid, 2) == node.log
    rotated = node.log + ".1"
    os.rename(node.log, rotated)
    os.kill(pid, signal.SIGHUP)
    wait_until(lambda: os.path.exists(node.log), 30)
    wait_until(lambda: fd_target(pid, 1) == node.log and fd_target(pid, 2) == node.log, 10)
    assert fd_target(pid, 1) == node.log, fd_target(pid, 1)
    assert fd_target(pid, 2) == node.log, fd_target(pid, 2)
    expect(node.ctl("stop"), 0, "clean shutdown")
    fresh = node.log_text()
    assert "log files reopened" in fresh and "finished clean shutdown" in fresh, fresh
    assert "finished clean shutdown" not in open(rotated).read()


def test_rotation_moves_stdout_and_stderr_with_a_file_sink(tmp_path):
    node = Node(str(tmp_path))
    try:
        rotate_and_check(node)
    finally:
        node.teardown()


def test_rotation_moves_stdout_and_stderr_without_a_file_sink(tmp_path):
    node = Node(str(tmp_path), file_log=False)  # output in <work-directory>/cairnd.log
    try:
        rotate_and_check(node)
    finally:
        node.teardown()


def test_stop_confirms_a_clean_stop_at_log_level_warning(tmp_path):
    node = Node(str(tmp_path))
    with open(node.config) as f:
        text = f.read()
    with open(node.config, "w") as f:
        f.write(text.replace("context any info", "context any warning"))
    try:
        expect(node.ctl("start"), 0, "ready")
        pid = node.pid()
        out = expect(node.ctl("stop"), 0, f"cairnd stopped: finished clean shutdown (pid {pid}")
        assert "finished clean shutdown" not in node.log_text()  # hidden at warning: not what stop relied on
        assert "look there" not in out
        with open(node.pid_file + ".exit") as f:
            assert f.read().strip() == f"clean {pid}"
    finally:
        node.teardown()


def test_no_work_directory_and_no_file_sink_is_refused_not_written_to_opt(tmp_path):
    node = Node(str(tmp_path), file_log=False)
    with open(node.config) as f:
        text = f.read()
    lines = [line for line in text.split("\n") if "work-directory" not in line]
    with open(node.config, "w") as f:
        f.write("\n".join(lines))
    assert not os.path.exists("/opt/cairn"), "this test needs a machine without /opt/cairn"
    try:
        out = expect(node.ctl("start"), 6, "no 'service { work-directory … }'", "/opt/cairn")
        assert not os.path.exists("/opt/cairn/cairnd.log"), out
        assert node.pid() is None
    finally:
        node.teardown()
