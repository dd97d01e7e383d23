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

"""Process supervision for ``localenv.cloud``: what it started; stopping it.

``state.json`` (load, save), each process recorded the moment it exists
(``record``, ``forget``, with its identity: ``localenv.processes``), the
ways to start one (``spawn``, ``uwsgi``, ``serve_uwsgi``, ``run``,
``component``), and stopping only what was recorded (``stop_pids``,
``destroy_guests``).
"""

import json
import os
import subprocess
import time

from localenv import common
from localenv import libvirt as libvirt_env
from localenv import processes

GRACE = 10


def stop_pids(records, grace=GRACE):
    """Stop recorded processes whose identity still matches."""
    processes.stop(records, grace)


def destroy_guests(uri, libvirt_workdir):
    """Remove nova's guests, then any QEMU our libvirtd left running."""
    listed = subprocess.run(['virsh', '-c', uri, 'list', '--all', '--name'],
                            capture_output=True, text=True, timeout=30)
    for name in listed.stdout.split():
        for verb in ('destroy', 'undefine'):
            subprocess.run(['virsh', '-c', uri, verb, name],
                           capture_output=True, timeout=30)
    libvirt_env.kill_guest_processes(libvirt_workdir)


class SupervisionMixin:
    """The state file and the processes of a ``Cloud``."""

    # -- state -------------------------------------------------------------

    def load_state(self):
        if os.path.exists(self.state_file):
            with open(self.state_file) as handle:
                self.state = json.load(handle)
        return self.state

    def save_state(self):
        with self._state_lock:
            tmp = self.state_file + '.tmp'
            # 0600: it holds the admin password.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, 'w') as handle:
                json.dump(self.state, handle, indent=2, sort_keys=True)
            os.replace(tmp, self.state_file)

    def record(self, name, pid, logfile, oneshot=False):
        """Remember a process the moment it exists, for ``down``.

        With its identity (start time, command line), so that ``down``
        never signals a later process that got the same PID. ``oneshot``:
        a command expected to exit (migrations); ``forget`` it after.
        """
        entry = processes.identity(pid, name=name, log=logfile) or {
            'name': name, 'pid': pid, 'log': logfile, 'start_time': None}
        if oneshot:
            entry['oneshot'] = True
        with self._state_lock:
            self.state['processes'].append(entry)
            self.save_state()
        return entry

    def forget(self, name=None, entry=None):
        """Drop the records named ``name`` (or the one ``entry``)."""
        with self._state_lock:
            self.state['processes'] = [
                p for p in self.state['processes']
                if not (p is entry or (name and p['name'] == name))]
            self.save_state()

    def ensure_running(self):
        """Raise, with its log's tail, if a process we started died.

        nova-conductor and nova-scheduler answer no HTTP: a crash there
        would otherwise only show later, as a compute host that never
        registers.
        """
        for entry in self.state['processes']:
            if not entry.get('oneshot') and not processes.alive(entry):
                raise RuntimeError('%s (pid %d) exited; log: %s' % (
                    entry['name'], entry['pid'], common.tail(entry['log'])))

    def running(self):
        """Recorded processes (or their workers) that still run."""
        return [p for p in list((self.state or {}).get('processes', []))
                if processes.running(p)]

    # -- processes -----------------------------------------------------------

    def spawn(self, name, argv, env=None):
        logfile = self.path('logs', '%s.log' % name)
        with open(logfile, 'ab') as out:
            process = common.popen(
                argv, stdout=out, stderr=subprocess.STDOUT, env=env,
                cwd=self.workdir, start_new_session=True)
        self.record(name, process.pid, logfile)
        return process

    def uwsgi(self, name, module, port, env):
        """A WSGI service under uWSGI (as devstack runs them).

        ``Connection: close`` because clients that reuse connections get
        "connection reset" from uWSGI's http-socket.
        """
        process = self.spawn(name, [
            self.bin('uwsgi'), '--http-socket', '127.0.0.1:%d' % port,
            '--module', module, '--home', self.venv, '--master',
            '--processes', '1', '--threads', '4', '--enable-threads',
            '--need-app', '--lazy-apps', '--die-on-term', '--thunder-lock',
            '--buffer-size', '65535', '--add-header', 'Connection: close'],
            env=dict(os.environ, **env))
        return process

    def serve_uwsgi(self, name, module, env, path=''):
        """A WSGI service under uWSGI on a free port; its URL once it serves.

        uWSGI binds the port itself: when another process took it first,
        uWSGI exits ("Address already in use") and starts again on a new
        port. Until uWSGI says it bound the port, an answer there could be
        someone else's.
        """
        logfile = self.path('logs', '%s.log' % name)

        def start():
            port = common.free_port()
            offset = os.path.getsize(logfile) if os.path.exists(
                logfile) else 0
            process = self.uwsgi(name, module, port, env)
            bound = 'bound to TCP address 127.0.0.1:%d ' % port
            deadline = time.monotonic() + 60
            while process.poll() is None and time.monotonic() < deadline:
                if bound in common.tail(logfile, 10000, offset):
                    break
                time.sleep(0.2)
            if process.poll() is not None:
                self.forget(name)
                if common.address_in_use(common.tail(logfile, 200, offset)):
                    raise common.PortInUse('%s port %d' % (name, port))
            url = 'http://127.0.0.1:%d%s' % (port, path)
            self.wait_http(name, url, process)
            return url

        return common.retry_on_port_in_use(start)

    def wait_http(self, name, url, process, timeout=120):
        common.wait_for_http(url, timeout, process,
                             self.path('logs', '%s.log' % name))

    def run(self, *argv, timeout=600, env=None):
        """A one-shot command (db sync, cell setup); its output on error.

        Recorded while it runs (``down`` stops it: a failed ``up`` must
        not leave a migration behind), in its own process group. Its
        command line must not carry a secret, and its error text is
        redacted.
        """
        argv = [str(arg) for arg in argv]
        common.check_command_line(argv)
        process = subprocess.Popen(
            argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=self.workdir, env=env, start_new_session=True)
        entry = self.record('run: %s' % os.path.basename(argv[0]),
                            process.pid, '', oneshot=True)
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            processes.stop([entry], grace=5)
            process.wait()
            raise
        finally:
            self.forget(entry=entry)
        if process.returncode:
            raise RuntimeError(common.redact('%s failed (%s): %s%s' % (
                ' '.join(argv), process.returncode, stdout[-3000:],
                stderr[-3000:])))
        return stdout

    def component(self, name, obj, pids=None):
        """Start a localenv component and record its processes.

        ``pids(obj)`` gives ``(name, pid)`` pairs when it runs more than
        one. A component whose start fails is stopped by itself: it may
        have started a process it did not get to report.
        """
        try:
            obj.start()
        except Exception:
            obj.stop()
            raise
        for child, pid in (pids(obj) if pids else
                           [(name, obj.process.pid)]):
            self.record(child, pid, getattr(obj, 'logfile', ''))
        return obj
