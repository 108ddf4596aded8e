"""A real Mosquitto broker for tests, and a small client that reads what it retains.

The broker (Debian's ``mosquitto``, installed by ``scripts/system_packages.py``) listens on
127.0.0.1 on a free port, with a config file generated in the test's folder, anonymous access
and no persistence: a restart loses every retained message, as a broker whose storage was lost
would, so a test sees that the apps publish everything again. ``stop`` ends it (and ``with``
does so on any failure).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import threading
import time
import uuid
from pathlib import Path
from types import TracebackType

from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

MOSQUITTO = "/usr/sbin/mosquitto"
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def mosquitto_binary() -> str:
    found = MOSQUITTO if Path(MOSQUITTO).is_file() else shutil.which("mosquitto")
    if found is None:
        raise RuntimeError("mosquitto is not installed: run `python3 -m scripts.system_packages` (or `make test`)")
    return found


class Mosquitto:
    """One broker process on ``127.0.0.1:<port>``; the port stays the same across restarts."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def config_file(self) -> Path:
        return self.folder / "mosquitto.conf"

    @property
    def log_file(self) -> Path:
        return self.folder / "mosquitto.log"

    def start(self, timeout: float = 10.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(
            f"listener {self.port} {HOST}\nallow_anonymous true\npersistence false\n", encoding="utf-8"
        )
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [mosquitto_binary(), "-c", str(self.config_file), "-v"], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.log_file.read_text(errors='replace')[-2000:]}")
            try:
                with socket.create_connection((HOST, self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"mosquitto did not listen on {HOST}:{self.port} within {timeout} s")

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)

    def restart(self) -> None:
        self.stop()
        self.start()

    def __enter__(self) -> Mosquitto:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- a client ----------------------------------------------------------------------------

    def _client(self) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-{uuid.uuid4().hex[:8]}")
        client.connect(HOST, self.port)
        return client

    def retained(self, topic: str = "#", timeout: float = 10.0) -> dict[str, str]:
        """Every retained message under ``topic`` (empty payloads are absent: the broker drops them).

        The broker sends a new subscription's retained messages before it routes anything this
        client publishes after subscribing, so a marker published then ends the read: nothing
        depends on how fast a loaded machine delivers them."""
        found: dict[str, str] = {}
        marker = f"test-marker/{uuid.uuid4().hex}"
        done = threading.Event()

        def on_message(_client: mqtt.Client, _userdata: object, message: mqtt.MQTTMessage) -> None:
            if message.topic == marker:
                done.set()
            elif message.retain:
                found[message.topic] = message.payload.decode()

        client = self._client()
        client.on_message = on_message
        client.subscribe([(topic, 0), (marker, 0)])
        client.publish(marker, "end", qos=0, retain=False)
        client.loop_start()
        try:
            if not done.wait(timeout):
                raise TimeoutError(f"the broker on port {self.port} sent no end marker within {timeout} s")
        finally:
            client.loop_stop()
            client.disconnect()
        return dict(found)

    def publish(self, topic: str, payload: str, retain: bool = False) -> None:
        """One message, as Home Assistant publishes a button press or its ``online`` status."""
        client = self._client()
        client.loop_start()
        try:
            client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(timeout=5)
        finally:
            client.loop_stop()
            client.disconnect()
