"""Starting and stopping `attend serve` for the tests: an ephemeral loopback port (the server
prints it), SIGTERM at the end with its exit status checked, and raw HTTP for what a polite
client never sends."""
import http.client
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time

LISTENING = re.compile(r"listening on http://127\.0\.0\.1:(\d+)")


class Server:
    """`attend serve --port 0 ARGS...` for the length of a with-block."""

    def __init__(self, attend, *args, start_seconds=120):
        self.command = [attend, "serve", "--port", "0", *args]
        self.start_seconds = start_seconds
        self.process = None
        self.port = None
        self.log = []

    def __enter__(self):
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        found = threading.Event()

        def read_log():
            for line in self.process.stderr:
                self.log.append(line)
                match = LISTENING.search(line)
                if match:
                    self.port = int(match.group(1))
                    found.set()

        threading.Thread(target=read_log, daemon=True).start()
        if not found.wait(self.start_seconds):
            self.process.kill()
            raise AssertionError(f"attend serve did not start: {''.join(self.log)}")
        return self

    def stop(self, timeout=60):
        """SIGTERM, then the exit status (0 expected: in-flight requests finish first)."""
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"attend serve did not stop within {timeout} s after SIGTERM")

    def __exit__(self, *exc):
        if self.process.poll() is None:
            status = self.stop()
            assert status == 0, f"attend serve exited with {status}: {''.join(self.log)}"

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def sanitized(self):
        """Whether the server runs under AddressSanitizer (its runtime mapped into the process)."""
        with open(f"/proc/{self.process.pid}/maps") as maps:
            return any("libasan" in line for line in maps)

    def resident_megabytes(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def request(self, method, path, body=None, headers=None, timeout=120):
        """(status, parsed JSON or text) of one request on its own connection."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            connection.request(method, path, body=body, headers=headers or {})
            response = connection.getresponse()
            data = response.read().decode("utf-8", "replace")
            if response.getheader("Content-Type", "").startswith("application/json"):
                return response.status, json.loads(data)
            return response.status, data
        finally:
            connection.close()

    def metric(self, name):
        """The value of an unlabelled metric in GET /metrics."""
        status, text = self.request("GET", "/metrics")
        assert status == 200, text
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        raise AssertionError(f"no metric {name} in {text}")

    def raw_socket(self):
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)


def wait_until(condition, seconds, what):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"not within {seconds} s: {what}")


def chat_model_id():
    return "SmolLM2-135M-Instruct"


def embedding_model_id():
    return "all-MiniLM-L6-v2"


def source_dir():
    return os.path.dirname(os.path.abspath(__file__))
