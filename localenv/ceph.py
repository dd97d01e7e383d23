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

"""A real throwaway single-node Ceph 16.2 cluster (mon + memstore OSD).

Debian's ceph-mon/ceph-osd, started by hand without systemd, every path
inside one directory, loopback only, a private port range per cluster, so
several clusters can run side by side (a "same cluster" and a "different
cluster" rbd store). The python ``rados``/``rbd`` bindings come from
Debian's python3-rados/python3-rbd and are put on a venv's path alone.

Ports: the mon's (and, with msgr1, the next one) is picked free and not
retried when another process binds it first (a cluster's start is not
cheap to repeat); the daemons' other ports come from a private range.
"""

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid

from localenv import common
from localenv import secret_scan
from localenv import service

DEBIAN_PACKAGES = ('ceph-mon', 'ceph-osd', 'ceph-common', 'python3-rbd',
                   'python3-rados')
DIST_PACKAGES = '/usr/lib/python3/dist-packages'


def missing_reason():
    if os.geteuid() != 0:
        return 'ceph daemons must run as root here'
    for binary in ('ceph-mon', 'ceph-osd', 'monmaptool', 'ceph-authtool',
                   'ceph'):
        if not os.path.exists('/usr/bin/' + binary):
            return ('%s is missing: install Debian packages %s '
                    '(tools/install-deps.sh does)' % (
                        binary, ' '.join(DEBIAN_PACKAGES)))
    return None


def bindings_dir():
    """A directory holding only Debian's rados/rbd modules (symlinks).

    Adding all of dist-packages to a venv would shadow its own packages.
    """
    target = os.path.join(common.CACHE, 'ceph-bindings')
    os.makedirs(target, exist_ok=True)
    for name in os.listdir(DIST_PACKAGES):
        if name.split('.')[0] in ('rados', 'rbd') and name.endswith('.so'):
            link = os.path.join(target, name)
            if not os.path.exists(link):
                os.symlink(os.path.join(DIST_PACKAGES, name), link)
    return target


def import_bindings():
    path = bindings_dir()
    if path not in sys.path:
        sys.path.append(path)
    import rados  # noqa: F401
    import rbd  # noqa: F401


class CephCluster(service.Service):
    """One mon + one OSD; ``conf`` and ``admin_keyring`` for clients."""

    missing_reason = staticmethod(missing_reason)

    def __init__(self, workdir, name='ceph', port=None,
                 objectstore='memstore', size_gib=4, client_op_timeout=30,
                 msgr1=False, mgr=False):
        """A cluster description; nothing runs until start().

        ``memstore`` keeps data in RAM (fast, small tests; saved to disk on
        a clean OSD stop); ``bluestore`` on a sparse file gives realistic
        I/O (benchmarks). ``client_op_timeout``: seconds after which a
        client's operation on an unreachable OSD or mon fails instead of
        waiting forever.

        ``msgr1``: the mon also listens with messenger v1 (on ``port +
        1``). nova hands QEMU the mon's legacy address from ``ceph mon
        dump``, which librbd reads as v1 unless the port is 3300.
        ``mgr``: run a ceph-mgr too (Debian ceph-mgr); without one ``ceph
        df`` lists no pools, and nova's rbd image backend needs its pool
        there.
        """
        self.workdir = workdir
        self.objectstore = objectstore
        self.size_gib = size_gib
        self.name = name
        self.fsid = str(uuid.uuid4())
        self.port = port or common.free_port()
        self.conf = os.path.join(workdir, 'ceph.conf')
        self.admin_keyring = os.path.join(workdir, 'client.admin.keyring')
        self.client_op_timeout = client_op_timeout
        self.msgr1 = msgr1
        self.mgr = mgr
        self.processes = []
        self.osd_id = None
        self._osd = None

    def _ceph(self, *args, parse=True, timeout=60):
        return self._admin_command(
            ['ceph', '-c', self.conf, '--connect-timeout', '20'], args,
            ['-f', 'json'] if parse else [], timeout)

    def _admin_command(self, command, args, json_flags, timeout):
        """Run a Ceph command as admin; its JSON answer when asked for."""
        done = subprocess.run(command + list(args) + json_flags,
                              capture_output=True, text=True,
                              timeout=timeout)
        if done.returncode:
            raise RuntimeError(common.redact('%s %s: %s' % (
                command[0], ' '.join(args), done.stderr.strip())))
        return json.loads(done.stdout) if json_flags and \
            done.stdout.strip() else done.stdout

    @property
    def mon_addrs(self):
        addrs = 'v2:127.0.0.1:%d' % self.port
        if self.msgr1:
            addrs += ',v1:127.0.0.1:%d' % (self.port + 1)
        return '[%s]' % addrs

    def _write_conf(self):
        base = self.workdir
        low = 20000 + (self.port % 20000)
        with open(self.conf, 'w') as handle:
            handle.write(textwrap.dedent('''\
                [global]
                fsid = %(fsid)s
                mon host = %(mon_addrs)s
                public addr = 127.0.0.1
                ms bind ipv6 = false
                ms bind port min = %(low)d
                ms bind port max = %(high)d
                auth cluster required = cephx
                auth service required = cephx
                auth client required = cephx
                keyring = %(base)s/$name.keyring
                run dir = %(base)s/run
                admin socket = %(base)s/run/$name.asok
                pid file = %(base)s/run/$name.pid
                log file = %(base)s/log/$name.log
                mon cluster log file = %(base)s/log/cluster.log
                mon data = %(base)s/mon/$cluster-$id
                osd data = %(base)s/osd/$cluster-$id
                osd objectstore = %(objectstore)s
                memstore device bytes = %(bytes)d
                bluestore block path = %(base)s/osd/$cluster-$id.block
                bluestore block create = true
                bluestore block size = %(bytes)d
                osd pool default size = 1
                osd pool default min size = 1
                osd pool default pg num = 8
                osd pool default pgp num = 8
                mon allow pool size one = true
                mon allow pool delete = true
                osd crush chooseleaf type = 0
                paxos propose interval = 0.05
                mon mgr mkfs grace = 100000
                mon data avail warn = 1
                mon warn on pool no redundancy = false
                osd fast shutdown = false
                [client]
                rados osd op timeout = %(timeout)d
                rados mon op timeout = %(timeout)d
                mgr data = %(base)s/mgr/$cluster-$id
                ''') % {'fsid': self.fsid, 'mon_addrs': self.mon_addrs,
                         'timeout': self.client_op_timeout,
                         'objectstore': self.objectstore,
                         'bytes': self.size_gib << 30,
                         'base': base, 'low': low, 'high': low + 99})

    def start(self):
        self.require()
        for sub in ('run', 'log', 'mon', 'osd', 'mgr'):
            os.makedirs(os.path.join(self.workdir, sub), exist_ok=True)
        self._write_conf()
        run = lambda *cmd: common.run(cmd, timeout=120)  # noqa: E731
        mon_keyring = os.path.join(self.workdir, 'mon.keyring')
        run('ceph-authtool', '--create-keyring', mon_keyring, '--gen-key',
            '-n', 'mon.', '--cap', 'mon', 'allow *')
        run('ceph-authtool', '--create-keyring', self.admin_keyring,
            '--gen-key', '-n', 'client.admin', '--cap', 'mon', 'allow *',
            '--cap', 'osd', 'allow *', '--cap', 'mgr', 'allow *')
        run('ceph-authtool', mon_keyring, '--import-keyring',
            self.admin_keyring)
        monmap = os.path.join(self.workdir, 'monmap')
        run('monmaptool', '--create', '--fsid', self.fsid, '--addv', 'a',
            self.mon_addrs, monmap)
        run('ceph-mon', '-c', self.conf, '--mkfs', '-i', 'a', '--monmap',
            monmap, '--keyring', mon_keyring)
        self.spawn('ceph-mon', '-i', 'a')
        osd_uuid = str(uuid.uuid4())
        osd_id = self._ceph('osd', 'new', osd_uuid, parse=False).strip()
        os.makedirs(os.path.join(self.workdir, 'osd',
                                 'ceph-%s' % osd_id), exist_ok=True)
        run('ceph-osd', '-c', self.conf, '-i', osd_id, '--mkfs', '--mkkey',
            '--osd-uuid', osd_uuid, '--no-mon-config')
        self._ceph('auth', 'add', 'osd.%s' % osd_id, 'osd', 'allow *',
                   'mon', 'allow profile osd', '-i',
                   os.path.join(self.workdir, 'osd.%s.keyring' % osd_id),
                   parse=False)
        self.osd_id = osd_id
        self._register_keys()
        self.start_osd()
        if self.mgr:
            self._start_mgr()
        return self

    def _register_keys(self):
        """Every cephx key of the cluster: redacted from any error text."""
        for what, key in secret_scan.keyring_keys(self.workdir).items():
            common.register_secret(key, what)

    def _start_mgr(self):
        """One ceph-mgr; wait until ``ceph df`` lists the pools."""
        os.makedirs(os.path.join(self.workdir, 'mgr', 'ceph-x'),
                    exist_ok=True)
        self._ceph('auth', 'get-or-create', 'mgr.x', 'mon', 'allow profile '
                   'mgr', 'osd', 'allow *', 'mds', 'allow *', '-o',
                   os.path.join(self.workdir, 'mgr.x.keyring'), parse=False)
        self._register_keys()
        self.spawn('ceph-mgr', '-i', 'x')
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._ceph('mgr', 'dump').get('available'):
                return
            time.sleep(0.3)
        raise RuntimeError('ceph-mgr of %s did not become available: %s' % (
            self.name, common.tail(os.path.join(self.workdir, 'log',
                                                'mgr.x.log'))))

    def start_osd(self):
        """Start the OSD (again) and wait until the mon sees it up."""
        self._osd = self.spawn('ceph-osd', '-i', self.osd_id)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            dump = self._ceph('osd', 'dump')
            if dump['osds'] and all(o['up'] for o in dump['osds']):
                return
            time.sleep(0.3)
        raise RuntimeError('OSD of %s did not come up: %s' % (
            self.name, common.tail(os.path.join(
                self.workdir, 'log', 'osd.%s.log' % self.osd_id))))

    def stop_osd(self):
        """Stop the OSD cleanly (its data survives).

        Clients then wait ``client_op_timeout`` seconds and fail.
        """
        common.stop_process(self._osd, grace=30)
        self.processes.remove(self._osd)
        self._osd = None

    def spawn(self, binary, *args):
        """A daemon of this cluster (stopped with it), logs in log/."""
        with open(os.path.join(self.workdir, 'log', binary + '.out'),
                  'ab') as out:
            process = common.popen(
                [binary, '-c', self.conf, '-f'] + list(args), stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def create_pool(self, pool):
        self._ceph('osd', 'pool', 'create', pool, '8', parse=False)
        self._ceph('osd', 'pool', 'application', 'enable', pool, 'rbd',
                   parse=False)

    def create_user(self, name, caps):
        """A cephx user; returns the path of its keyring file."""
        keyring = os.path.join(self.workdir, 'client.%s.keyring' % name)
        args = ['auth', 'get-or-create', 'client.%s' % name]
        for daemon, cap in caps.items():
            args += [daemon, cap]
        args += ['-o', keyring]
        self._ceph(*args, parse=False)
        self._register_keys()
        return keyring

    def config_set(self, who, name, value):
        """``ceph config set``: an option the mon hands ``who``'s clients."""
        self._ceph('config', 'set', who, name, str(value), parse=False)

    def config_rm(self, who, name):
        self._ceph('config', 'rm', who, name, parse=False)

    def rbd(self, *args, parse=True):
        """The ``rbd`` command as the cluster's admin."""
        return self._admin_command(['rbd', '-c', self.conf], args,
                                   ['--format', 'json'] if parse else [],
                                   120)

    def trash(self, pool):
        """{image name: source} of ``pool``'s trash, parents included.

        With the ``rbd`` command: librbd's Python ``trash_list()`` fails
        on ``USER_PARENT`` entries on Ceph 16.2.
        """
        return {entry['name']: entry['source'] for entry in self.rbd(
            'trash', 'ls', '--all', '--long', '--pool', pool)}

    def stop(self):
        for process in reversed(self.processes):
            common.stop_process(process, grace=5)
        self.processes = []
