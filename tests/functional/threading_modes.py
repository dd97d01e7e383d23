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

"""Run nova's compute code in either of nova 34's concurrency modes.

nova 34 (2026.2) selects the mode once, in the first statement of each
service (``nova/cmd/compute.py``: ``monkey_patch.patch(backend='threading')``):

1. ``OS_NOVA_DISABLE_EVENTLET_PATCHING``, when set, decides: ``1``,
   ``true`` or ``yes`` mean native threading, any other value eventlet;
2. else ``[DEFAULT] concurrency_backend`` (``auto``, ``threading``,
   ``eventlet``) read early from the ``--config-file`` arguments;
3. else (``auto``) the service's own default, which for nova-compute is
   native threading.

In eventlet mode nova monkey-patches the standard library and initialises
oslo.service's eventlet backend; in native threading mode it initialises
the threading backend and forbids importing eventlet at all.
"""

import json
import os
import random
import subprocess
import sys
import time

from localenv import common
from localenv import libvirt as libvirt_env

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, 'tests', 'functional', 'concurrent_snapshots.py')
ENV_VAR = 'OS_NOVA_DISABLE_EVENTLET_PATCHING'
# Seconds the compute process may run; it dumps its stacks 30 s before.
TIMEOUT = 900


def select(mode, workdir, how='config'):
    """(environment, config files) that select ``mode`` for nova-compute.

    ``how``: ``config`` sets ``[DEFAULT] concurrency_backend`` (what an
    operator writes in nova.conf; nothing at all for native threading,
    nova-compute's default), ``env`` sets OS_NOVA_DISABLE_EVENTLET_PATCHING.
    """
    environ = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    files = []
    if how == 'env':
        environ[ENV_VAR] = {'threading': 'true', 'eventlet': 'false'}[mode]
    elif mode == 'eventlet':
        files.append(write_conf(workdir, 'eventlet'))
    return environ, files


def write_conf(workdir, backend):
    path = os.path.join(str(workdir), 'nova-%s.conf' % backend)
    with open(path, 'w') as handle:
        handle.write('[DEFAULT]\nconcurrency_backend = %s\n' % backend)
    return path


def assert_mode(facts, mode):
    """The facts the compute process reported prove ``mode`` was active."""
    if mode == 'eventlet':
        assert facts['nova_monkey_patched'], facts
        assert not facts['nova_concurrency_mode_threading'], facts
        assert facts['oslo_service_backend'] == 'eventlet', facts
        assert facts['thread_patched'] and facts['socket_patched'], facts
    else:
        assert not facts['nova_monkey_patched'], facts
        assert facts['nova_concurrency_mode_threading'], facts
        assert facts['oslo_service_backend'] == 'threading', facts
        # nova forbids eventlet in this mode: nothing can patch behind it.
        assert not facts['eventlet_importable'], facts
        assert not facts['thread_patched'], facts
    assert facts['mode'] == mode, facts


class ComputeProcess:
    """Guests in the test's libvirtd, snapshotted by a compute process.

    The process is concurrent_snapshots.py, started in the selected mode.
    """

    def __init__(self, workdir, glance_url, libvirtd, overrides=()):
        self.workdir = os.path.join(workdir, 'nova')
        self.glance_url = glance_url
        self.libvirtd = libvirtd
        self.overrides = [list(item) for item in overrides]
        self.guests = []
        self.contents = {}  # instance uuid -> the guest disk's bytes
        self._next_id = random.randint(1, 0xfffff) << 8

    @property
    def instances_path(self):
        return os.path.join(self.workdir, 'instances')

    def define_guest(self, base_id):
        """A running guest whose instance was booted from ``base_id``."""
        instance_id = self._next_id
        self._next_id += 1
        instance_uuid = libvirt_env.new_uuid()
        disk, content = libvirt_env.create_guest_disk(
            os.path.join(self.instances_path, instance_uuid),
            os.path.join(self.instances_path, '_base'), seed=instance_uuid)
        # nova names a guest after the instance id: instance-%08x.
        self.libvirtd.define_guest('instance-%08x' % instance_id,
                                   instance_uuid, disk, True)
        self.guests.append({'id': instance_id, 'uuid': instance_uuid,
                            'base_id': base_id})
        self.contents[instance_uuid] = content

    def run(self, expect, selection, mode_only=False):
        """Start the process in the mode ``selection`` selects.

        :returns: (its JSON report, seconds it took)
        """
        environ, files = selection
        environ = dict(environ, PYTHONPATH=os.pathsep.join(
            [ROOT] + [p for p in [environ.get('PYTHONPATH')] if p]))
        command = [sys.executable, SCRIPT, '--expect', expect,
                   '--dump-stacks-after', str(TIMEOUT - 30)]
        for path in files:
            command += ['--config-file', path]
        if mode_only:
            command.append('--mode-only')
        spec = {'workdir': self.workdir, 'glance_url': self.glance_url,
                'libvirt_uri': self.libvirtd.uri,
                'virt_type': libvirt_env.virt_type(),
                'guests': self.guests, 'overrides': self.overrides}
        start = time.monotonic()
        try:
            done = subprocess.run(command, input=json.dumps(spec),
                                  capture_output=True, text=True,
                                  timeout=TIMEOUT, env=environ, cwd=ROOT)
        except subprocess.TimeoutExpired as e:
            # The process dumped every OS thread's stack before this (see
            # concurrent_snapshots.py): a hang says where it hangs.
            stderr = e.stderr or b''
            if isinstance(stderr, bytes):
                stderr = stderr.decode('utf-8', 'replace')
            raise AssertionError(
                'compute process (expected %s mode) still running after '
                '%d s\nstderr: %s\nnova log: %s' % (
                    expect, TIMEOUT, stderr[-12000:],
                    common.tail(os.path.join(self.workdir,
                                             'nova-compute.log'))))
        wall = time.monotonic() - start
        lines = done.stdout.strip().splitlines()
        try:
            report = json.loads(lines[-1])
        except (IndexError, ValueError):
            report = {'error': 'no report on stdout'}
        if done.returncode or 'error' in report:
            raise AssertionError(
                'compute process (expected %s mode) failed, exit %s: %s\n'
                'mode: %s\nstderr: %s\nnova log: %s' % (
                    expect, done.returncode, report.get('error'),
                    report.get('mode'), done.stderr[-3000:],
                    common.tail(os.path.join(self.workdir,
                                             'nova-compute.log'))))
        return report, wall
