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

"""A private MariaDB (Debian's mariadb-server) on a loopback port.

Its own data directory, socket and port, so it never meets the system's
MariaDB: ``mariadb-install-db`` into the work directory, then ``mariadbd``
in the foreground as a child we can stop by its PID. Its port is picked
free and, when someone else binds it first, ``start`` retries on a new one.
SQL reaches the client on its standard input, never as ``-e``: it holds
the services' password.
"""

import os
import subprocess
import time

from localenv import common
from localenv import service

MARIADBD = '/usr/sbin/mariadbd'
INSTALL_DB = '/usr/bin/mariadb-install-db'
CLIENT = '/usr/bin/mariadb'
DEBIAN_PACKAGES = ('mariadb-server', 'mariadb-client')
USER = 'openstack'
PASSWORD = 'localenv-db'


def missing_reason():
    for binary in (MARIADBD, INSTALL_DB, CLIENT):
        if not os.path.exists(binary):
            return ('%s is missing: install Debian packages %s '
                    '(tools/install-deps.sh does)' % (
                        binary, ' '.join(DEBIAN_PACKAGES)))
    return None


class MariaDB(service.Service):
    """One mariadbd; services reach it as ``USER`` over TCP."""

    missing_reason = staticmethod(missing_reason)

    def __init__(self, workdir, port=None):
        self.workdir = workdir
        self._fixed_port = port
        self.port = port or common.free_port()
        self.datadir = os.path.join(workdir, 'data')
        self.socket = os.path.join(workdir, 'mysqld.sock')
        self.logfile = os.path.join(workdir, 'mariadb.log')
        self.process = None

    def url(self, database):
        """An oslo.db connection URL for ``database`` (for config files)."""
        return 'mysql+pymysql://%s:%s@127.0.0.1:%d/%s?charset=utf8' % (
            USER, PASSWORD, self.port, database)

    def start(self):
        self.require()
        common.register_secret(PASSWORD, 'MariaDB password')
        os.makedirs(self.workdir, exist_ok=True)
        if not os.path.isdir(os.path.join(self.datadir, 'mysql')):
            common.run(
                [INSTALL_DB, '--no-defaults', '--user=root',
                 '--datadir=%s' % self.datadir,
                 '--auth-root-authentication-method=socket',
                 '--skip-test-db'], timeout=300)
        common.retry_on_port_in_use(self._start_server)
        self.sql("CREATE USER IF NOT EXISTS '%s'@'127.0.0.1' "
                 "IDENTIFIED BY '%s'; GRANT ALL PRIVILEGES ON *.* TO "
                 "'%s'@'127.0.0.1'" % (USER, PASSWORD, USER))
        return self

    def _start_server(self):
        offset = (os.path.getsize(self.logfile)
                  if os.path.exists(self.logfile) else 0)
        with open(self.logfile + '.out', 'ab') as out:
            self.process = common.popen(
                [MARIADBD, '--no-defaults', '--user=root',
                 '--datadir=%s' % self.datadir, '--socket=%s' % self.socket,
                 '--port=%d' % self.port, '--bind-address=127.0.0.1',
                 '--pid-file=%s' % os.path.join(self.workdir, 'mysqld.pid'),
                 '--log-error=%s' % self.logfile,
                 '--skip-name-resolve', '--max-connections=1000',
                 '--innodb-buffer-pool-size=128M',
                 '--innodb-flush-log-at-trx-commit=2',
                 '--character-set-server=utf8mb4'],
                stdout=out, stderr=subprocess.STDOUT,
                start_new_session=True)
        try:
            self._wait()
        except RuntimeError:
            common.stop_process(self.process)
            if self._fixed_port is None and common.address_in_use(
                    common.tail(self.logfile, offset=offset)):
                failed, self.port = self.port, common.free_port()
                raise common.PortInUse('MariaDB port %d' % failed)
            raise

    def _wait(self, timeout=60):
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError('mariadbd exited with %s; log: %s' % (
                    self.process.returncode, common.tail(self.logfile)))
            done = subprocess.run([CLIENT, '--no-defaults',
                                   '--socket=%s' % self.socket, '-e',
                                   'SELECT 1'], capture_output=True)
            if done.returncode == 0:
                return
            if time.monotonic() > deadline:
                raise RuntimeError('mariadbd did not answer in %s s; log: %s'
                                   % (timeout, common.tail(self.logfile)))
            time.sleep(0.3)

    def sql(self, statements):
        """Run SQL as root over the private socket.

        On the client's standard input: a password in a statement would
        show in ``ps`` as an ``-e`` argument. Errors are redacted.
        """
        done = subprocess.run(
            [CLIENT, '--no-defaults', '--socket=%s' % self.socket],
            input=statements, capture_output=True, text=True, timeout=60)
        if done.returncode:
            raise RuntimeError(common.redact('SQL failed: %s: %s' % (
                statements, done.stderr)))

    def create_databases(self, *names):
        self.sql('; '.join('CREATE DATABASE IF NOT EXISTS %s' % name
                           for name in names))

    def stop(self):
        common.stop_process(self.process, grace=30)
        self.process = None
