"""Shared helpers of the local environment: venvs, ports, processes."""

import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get('NGM_LOCALENV_CACHE', os.path.join(REPO, '.localenv'))


def log(message):
    """Progress for a person watching (stderr, so pytest -s shows it)."""
    print('[localenv] %s' % message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def file_lock(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def ensure_venv(name, requirements, python=None, marker='ok'):
    """A venv under .localenv/<name> holding ``requirements``.

    Services run from their own venvs, as in a real deployment; the venv is
    built once and reused while its requirement list is unchanged.
    """
    path = os.path.join(CACHE, name)
    stamp = os.path.join(path, '.ngm-requirements')
    wanted = '\n'.join(requirements) + '\n' + marker
    with file_lock(os.path.join(CACHE, name + '.lock')):
        if os.path.exists(stamp) and open(stamp).read() == wanted:
            return path
        shutil.rmtree(path, ignore_errors=True)
        log('creating venv %s (%s)' % (path, ' '.join(requirements)))
        start = time.monotonic()
        subprocess.run([python or sys.executable, '-m', 'venv', path],
                       check=True)
        with open(os.path.join(CACHE, name + '.pip.log'), 'w') as out:
            done = subprocess.run(
                [os.path.join(path, 'bin', 'pip'), 'install',
                 '--disable-pip-version-check'] + list(requirements),
                stdout=out, stderr=subprocess.STDOUT)
        if done.returncode:
            raise RuntimeError('pip install into %s failed: %s' % (
                path, tail(out.name)))
        with open(stamp, 'w') as handle:
            handle.write(wanted)
        log('venv %s ready in %.0f s' % (name, time.monotonic() - start))
    return path


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_for_http(url, timeout=60, process=None, logfile=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError('%s exited with %s before answering; log: %s'
                               % (process.args[0], process.returncode,
                                  tail(logfile)))
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.2)
    raise RuntimeError('%s did not answer within %s s; log: %s'
                       % (url, timeout, tail(logfile)))


def http_get(url, token=None, timeout=60):
    """GET ``url`` (with a Keystone token); the HTTP status."""
    request = urllib.request.Request(
        url, headers={'X-Auth-Token': token} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def tail(logfile, lines=30):
    if not logfile or not os.path.exists(logfile):
        return '(no log)'
    with open(logfile, errors='replace') as handle:
        return ''.join(handle.readlines()[-lines:])


def stop_process(process, grace=10):
    """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
    if process is None or process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)
