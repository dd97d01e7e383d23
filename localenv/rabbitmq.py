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

"""A private RabbitMQ (Debian's rabbitmq-server) on loopback ports.

Own node name, Mnesia directory, Erlang cookie (HOME), AMQP, distribution
and epmd ports, so it never meets a system RabbitMQ. epmd is started by us
in the foreground: left to the broker it would daemonize out of reach of
``down``. Its three ports are picked free; when another process binds one
first, ``start`` retries with new ones.
"""

import os
import socket
import subprocess
import textwrap
import time

from localenv import common
from localenv import service

SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server'
EPMD = '/usr/bin/epmd'
DEBIAN_PACKAGES = ('rabbitmq-server',)
USER = 'openstack'
PASSWORD = 'localenv-mq'


def missing_reason():
    for binary in (SERVER, EPMD):
        if not os.path.exists(binary):
            return ('%s is missing: install Debian packages %s '
                    '(tools/install-deps.sh does)' % (
                        binary, ' '.join(DEBIAN_PACKAGES)))
    return None


def _port_open(port):
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(('127.0.0.1', port)) == 0


class RabbitMQ(service.Service):
    missing_reason = staticmethod(missing_reason)

    def __init__(self, workdir, port=None):
        self.workdir = workdir
        self._fixed_port = port
        self.process = None
        self.epmd = None
        self._pick_ports(port)

    def _pick_ports(self, port=None):
        self.port = port or common.free_port()
        self.dist_port = common.free_port()
        self.epmd_port = common.free_port()
        self.node = 'ngm%d@localhost' % self.port
        self.logfile = os.path.join(self.workdir, 'log', '%s.log' % self.node)

    @property
    def transport_url(self):
        return 'rabbit://%s:%s@127.0.0.1:%d/' % (USER, PASSWORD, self.port)

    def _env(self):
        env = dict(os.environ)
        env.update({
            'HOME': self.workdir,  # the Erlang cookie lives here
            'RABBITMQ_NODENAME': self.node,
            'RABBITMQ_NODE_IP_ADDRESS': '127.0.0.1',
            'RABBITMQ_NODE_PORT': str(self.port),
            'RABBITMQ_DIST_PORT': str(self.dist_port),
            'ERL_EPMD_ADDRESS': '127.0.0.1',
            'ERL_EPMD_PORT': str(self.epmd_port),
            'RABBITMQ_MNESIA_BASE': os.path.join(self.workdir, 'mnesia'),
            'RABBITMQ_LOG_BASE': os.path.join(self.workdir, 'log'),
            'RABBITMQ_CONFIG_FILE': os.path.join(self.workdir,
                                                 'rabbitmq.conf'),
            'RABBITMQ_ADVANCED_CONFIG_FILE': os.path.join(
                self.workdir, 'advanced.config'),
            'RABBITMQ_ENABLED_PLUGINS_FILE': os.path.join(
                self.workdir, 'enabled_plugins'),
            'RABBITMQ_CONF_ENV_FILE': os.path.join(self.workdir,
                                                   'rabbitmq-env.conf'),
            'RABBITMQ_PID_FILE': os.path.join(self.workdir, 'rabbit.pid'),
        })
        return env

    def _write_config(self):
        os.makedirs(os.path.join(self.workdir, 'log'), exist_ok=True)
        files = {
            'rabbitmq.conf': textwrap.dedent('''\
                listeners.tcp.default = 127.0.0.1:%d
                default_user = %s
                default_pass = %s
                loopback_users = none
                ''') % (self.port, USER, PASSWORD),
            # Erlang distribution listens on all interfaces unless told.
            'advanced.config': '[{kernel, [{inet_dist_use_interface, '
                               '{127,0,0,1}}]}].\n',
            'enabled_plugins': '[].\n',
            'rabbitmq-env.conf': '',
        }
        for name, text in files.items():
            with open(os.path.join(self.workdir, name), 'w') as handle:
                handle.write(text)

    def start(self, timeout=90):
        self.require()
        common.register_secret(PASSWORD, 'RabbitMQ password')
        return common.retry_on_port_in_use(lambda: self._start(timeout))

    def _start(self, timeout):
        self._write_config()
        logs = [os.path.join(self.workdir, 'epmd.log'),
                os.path.join(self.workdir, 'rabbitmq.out'), self.logfile]
        offsets = [os.path.getsize(p) if os.path.exists(p) else 0
                   for p in logs]
        try:
            return self._start_processes(timeout)
        except RuntimeError:
            self.stop()
            taken = any(common.address_in_use(common.tail(p, 200, offset))
                        for p, offset in zip(logs, offsets))
            if taken and self._fixed_port is None:
                ports = (self.port, self.dist_port, self.epmd_port)
                self._pick_ports()
                raise common.PortInUse('RabbitMQ ports %d/%d/%d' % ports)
            raise

    def _start_processes(self, timeout):
        with open(os.path.join(self.workdir, 'epmd.log'), 'ab') as out:
            self.epmd = subprocess.Popen(
                [EPMD, '-address', '127.0.0.1', '-port',
                 str(self.epmd_port)], stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        out_log = os.path.join(self.workdir, 'rabbitmq.out')
        with open(out_log, 'ab') as out:
            self.process = subprocess.Popen(
                [SERVER], env=self._env(), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.workdir)
        deadline = time.monotonic() + timeout
        # The port alone could be someone else's: wait for our broker to
        # say it listens there.
        while not (_port_open(self.port) and self._listening()):
            if self.process.poll() is not None or (
                    time.monotonic() > deadline):
                raise RuntimeError('RabbitMQ did not start: %s%s' % (
                    common.tail(out_log), common.tail(self.logfile)))
            time.sleep(0.5)
        return self

    def _listening(self):
        line = 'started TCP listener on 127.0.0.1:%d' % self.port
        if not os.path.exists(self.logfile):
            return False
        with open(self.logfile, errors='replace') as handle:
            return any(line in text for text in handle)

    @property
    def pids(self):
        """Broker first, then epmd: the order to stop them in."""
        return [p.pid for p in (self.process, self.epmd) if p is not None]

    def stop(self):
        common.stop_process(self.process, grace=30)
        common.stop_process(self.epmd)
        self.process = self.epmd = None
