#!/usr/bin/python3
"""Plays systemd's part of Type=notify for one child: names itself 'systemd' (which is how
Microsoft.Extensions.Hosting.Systemd recognises its parent), listens on a NOTIFY_SOCKET, starts the
command, prints each notification, sends SIGTERM after READY=1, and exits with the child's code.
Usage: fake_systemd.py COMMAND [ARGS...]"""
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile

ctypes.CDLL(None).prctl(15, b"systemd", 0, 0, 0)  # PR_SET_NAME
path = os.path.join(tempfile.mkdtemp(), "notify")
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(path)
sock.settimeout(30)
child = subprocess.Popen(sys.argv[1:], env={**os.environ, "NOTIFY_SOCKET": path},
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    while True:
        msg = sock.recv(4096).decode()
        print(msg, flush=True)
        if "READY=1" in msg:
            child.send_signal(signal.SIGTERM)
        if "STOPPING=1" in msg:
            break
    print("exit=%d" % child.wait(timeout=30), flush=True)
except socket.timeout:
    print("timeout", flush=True)
    child.kill()
    sys.exit(1)
