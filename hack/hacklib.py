"""What the Python scripts in hack/ share: a free loopback port, one info request, a namespace's
statistics, waiting for a server they spawned, and a workload list.

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import hacklib
"""
import socket
import time


def info(host, port, command, timeout=5.0):
    """One info request (Aerospike's protocol: version 2, type 1); the reply text, or None when
    the server cannot be reached or closes before the whole reply."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            body = (command + "\n").encode()
            s.sendall(((2 << 56) | (1 << 48) | len(body)).to_bytes(8, "big") + body)
            header = _read_exactly(s, 8)
            if header is None:
                return None
            reply = _read_exactly(s, int.from_bytes(header, "big") & ((1 << 48) - 1))
            return None if reply is None else reply.decode(errors="replace")
    except OSError:
        return None


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def namespace_statistics(host, port, namespace):
    """`namespace/<namespace>` as a dict of name → value text; empty when the server cannot be
    reached or does not know the namespace."""
    text = info(host, port, f"namespace/{namespace}") or ""
    return dict(kv.split("=", 1) for kv in text.strip().split(";") if "=" in kv)


def _read_exactly(s, size):
    data = b""
    while len(data) < size:
        chunk = s.recv(size - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def answers_ok(port, host="127.0.0.1", timeout=2):
    """Whether the server answers info `status` with `ok` (cairnd binds its port before its
    namespaces open and answers `starting` meanwhile)."""
    return (info(host, port, "status", timeout=timeout) or "").startswith("status\tok")


def wait_ready(proc, port, log_path, seconds, what, host="127.0.0.1", status=True):
    """Waits until `proc` serves on `port`: with `status`, until info `status` answers `ok`
    (cairnd binds its port before its namespaces open and answers `starting` meanwhile);
    without, until the port accepts. Exits naming `what` and the log's tail when the process
    ends or `seconds` pass (killing it then)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode} during startup:\n{_tail(log_path)}")
        if status:
            if answers_ok(port, host):
                return
        else:
            try:
                with socket.create_connection((host, port), timeout=0.2):
                    return
            except OSError:
                pass
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{what} was not ready on {host}:{port} within {seconds} s:\n{_tail(log_path)}")


def _tail(path, size=3000):
    try:
        with open(path, errors="replace") as f:
            return f.read()[-size:]
    except OSError:
        return "(no log)"


def workload_list(text):
    """`I,RU,50,RU,95` -> ["I", "RU,50", "RU,95"]."""
    parts, out, i = text.split(","), [], 0
    while i < len(parts):
        if parts[i] == "RU" and i + 1 < len(parts):
            out.append(f"RU,{parts[i + 1]}")
            i += 2
        else:
            out.append(parts[i])
            i += 1
    return out
