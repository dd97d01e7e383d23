# Licensed under the Apache License, Version 2.0 (the "License"); you may
# not use this file except in compliance with the License. You may obtain
# a copy of the License at
#
#      http://www.apache.org/licenses/LICENSE-2.0
#
# Unless required by applicable law or agreed to in writing, software
# distributed under the License is distributed on an "AS IS" BASIS, WITHOUT
# WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied. See the
# License for the specific language governing permissions and limitations
# under the License.

"""Shared helpers of the local environment: venvs, ports, processes.

Secrets: every password and key the environment hands to a service is
registered here (``register_secret``). Command lines built through ``run``
and ``popen`` are refused when they carry one (``ps`` shows command lines
to everyone), and error text goes through ``redact`` first.
"""

import contextlib
import fcntl
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.environ.get('NGM_LOCALENV_CACHE', os.path.join(REPO, '.localenv'))
REDACTED = '***'
# A password in a URL (mysql+pymysql://user:PASSWORD@host, rabbit://...).
_URL_PASSWORD = re.compile(r'(://[^:/@\s]+:)[^@\s]+@')
# Shorter strings would redact ordinary words.
_MIN_SECRET_LENGTH = 6
_SECRETS = {}  # value -> what it is (for findings that must not show it)
_PORTS_HANDED_OUT = set()
_PORTS_LOCK = threading.Lock()


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


# -- secrets ---------------------------------------------------------------

class SecretOnCommandLine(RuntimeError):
    """A command line would show a secret to every user of the machine."""


def register_secret(value, label='a secret'):
    """Remember ``value`` as a secret; returns it, for chaining."""
    if value and len(str(value)) >= _MIN_SECRET_LENGTH:
        _SECRETS.setdefault(str(value), label)
    return value


def known_secrets():
    """``{label: value}`` of every registered secret."""
    return {label if list(_SECRETS.values()).count(label) == 1 else
            '%s #%d' % (label, n): value
            for n, (value, label) in enumerate(sorted(_SECRETS.items()))}


def redact(text, secrets=()):
    """``text`` with every known secret and URL password replaced by ***.

    The one place error messages and log tails pass through before they
    are raised or printed.
    """
    if text is None:
        return None
    text = str(text)
    extra = [s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH]
    for secret in sorted(set(extra) | set(_SECRETS), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return _URL_PASSWORD.sub(r'\1%s@' % REDACTED, text)


def check_command_line(argv):
    """Raise SecretOnCommandLine when ``argv`` carries a secret."""
    line = ' '.join(str(arg) for arg in argv)
    if redact(line) != line:
        raise SecretOnCommandLine(
            'refusing to run a command with a secret on its command line '
            '(pass it by file or environment): %s' % redact(line))


@contextlib.contextmanager
def secret_file(content, directory=None):
    """A 0600 file holding ``content``, removed when the block ends."""
    fd, path = tempfile.mkstemp(prefix='.ngm-secret-', dir=directory)
    try:
        with os.fdopen(fd, 'w') as handle:
            handle.write(content)
        yield path
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)


def run(argv, timeout=600, **kwargs):
    """A one-shot command; its CompletedProcess, or a redacted error.

    Refuses a command line with a secret on it; ``kwargs`` go to
    ``subprocess.run`` (``env``, ``cwd``, ``input`` ...).
    """
    argv = [str(arg) for arg in argv]
    check_command_line(argv)
    done = subprocess.run(argv, capture_output=True, text=True,
                          timeout=timeout, **kwargs)
    if done.returncode:
        raise RuntimeError(redact('%s failed (%s): %s%s' % (
            ' '.join(argv), done.returncode, done.stdout[-3000:],
            done.stderr[-3000:])))
    return done


def popen(argv, **kwargs):
    """``subprocess.Popen`` for a service, refusing secrets in ``argv``."""
    check_command_line(argv)
    return subprocess.Popen(argv, **kwargs)


# -- ports -----------------------------------------------------------------

class PortInUse(RuntimeError):
    """A service could not bind the port it was given: pick another."""


def address_in_use(text):
    """True when a service's log says its port was taken."""
    text = (text or '').lower()
    return any(marker in text for marker in (
        'address already in use', 'eaddrinuse', 'errno 98', 'error: 98'))


def free_port():
    """A loopback port free now, never the same twice in this process.

    Free *now*: another process may bind it before our service does. Each
    service therefore either gets its socket handed over (``reserve_port``:
    Keystone, Glance) or retries with a new port when its bind fails
    (``retry_on_port_in_use``: MariaDB, RabbitMQ, the uWSGI services).
    """
    while True:
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        with _PORTS_LOCK:
            if port not in _PORTS_HANDED_OUT:
                _PORTS_HANDED_OUT.add(port)
                return port


def reserve_port(port=0):
    """A bound (not yet listening) loopback socket to hand to a service.

    Nobody else can bind the port while we hold it, and connections are
    refused until the service listens. The service gets the socket's file
    descriptor (``pass_fds``); we close our copy once it serves.
    """
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(('127.0.0.1', port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def retry_on_port_in_use(start, attempts=3):
    """``start()`` again (it picks new ports) while it raises PortInUse."""
    for attempt in range(1, attempts + 1):
        try:
            return start()
        except PortInUse as e:
            if attempt == attempts:
                raise
            log('port taken by someone else, retrying with a new one: %s'
                % e)


def wait_for_http(url, timeout=60, process=None, logfile=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(redact(
                '%s exited with %s before answering; log: %s' % (
                    process.args[0], process.returncode, tail(logfile))))
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except urllib.error.HTTPError:
            return  # any HTTP answer means it is serving
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(redact('%s did not answer within %s s; log: %s'
                              % (url, timeout, tail(logfile))))


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


def tail(logfile, lines=30, offset=0):
    """The last ``lines`` of a log (from ``offset``), secrets redacted."""
    if not logfile or not os.path.exists(logfile):
        return '(no log)'
    with open(logfile, errors='replace') as handle:
        handle.seek(offset)
        return redact(''.join(handle.readlines()[-lines:]))


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
