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

"""The demo: the main job of nova-glance-multistore, on real services.

Starts a real multi-store Glance (``fast`` is the default; the base image
lives in ``cheap``), a real libvirtd with a guest booted from that image,
and nova's real LibvirtDriver with our plugin; then runs a snapshot, a
backup, a snapshot with ``[glance] store = archive`` and a snapshot to an
unknown store, and prints what happened. Exits 1 if any row is wrong.
"""

import logging
import os
import sys
import tempfile
import time

from localenv import common
from localenv import glance as glance_env
from localenv import libvirt as libvirt_env
from localenv import nova_compute


class DecisionLog(logging.Handler):
    """Reads the store decisions our driver logs, as an operator would."""

    def __init__(self):
        super().__init__(logging.INFO)
        self.decisions = {}

    def emit(self, record):
        args = record.args if isinstance(record.args, dict) else {}
        if 'store' in args and 'image_id' in args and 'reason' in args:
            self.decisions[args['image_id']] = (args['store'],
                                                args['reason'])


def run_demo(workdir):
    rows = []
    common.log('starting Glance (stores fast=default, cheap, archive, web)')
    glance = glance_env.GlanceServer(os.path.join(workdir, 'glance')).start()
    daemon = None
    compute = None
    try:
        common.log('starting libvirtd (%s)' % libvirt_env.virt_type())
        daemon = libvirt_env.Libvirtd(os.path.join(workdir, 'libvirt'))
        daemon.start()
        base = glance.create_image('cirros-like-base', os.urandom(1 << 20),
                                   store='cheap')
        common.log('base image %s is in store %s' % (base['id'],
                                                     base['stores']))
        compute = nova_compute.NovaCompute(
            os.path.join(workdir, 'nova'), glance.url, daemon.uri,
            libvirt_env.virt_type())
        compute.start()
        decisions = DecisionLog()
        logging.getLogger('nova_glance_multistore').addHandler(decisions)
        instance = compute.make_instance(base['id'])
        disk, _ = libvirt_env.create_guest_disk(
            os.path.join(compute.instances_path, instance.uuid),
            os.path.join(compute.instances_path, '_base'), size_mib=64,
            written_mib=16, seed='demo')
        daemon.define_guest(instance.name, instance.uuid, disk)
        common.log('guest %s is running' % instance.name)
        ctxt = compute.context()

        plan = [
            ('snapshot', 'snapshot', None, 'cheap'),
            ('backup', 'backup', None, 'cheap'),
            ('snapshot, [glance] store=archive', 'snapshot', 'archive',
             'archive'),
            ('snapshot, [glance] store=nowhere', 'snapshot', 'nowhere',
             None),
        ]
        for label, kind, store, expected in plan:
            common.log('running: %s' % label)
            compute.set('glance', 'store', store)
            instance.task_state = nova_compute.TASK_STATES[kind]
            image_id = compute.create_queued_image(ctxt, instance, kind)
            start = time.monotonic()
            error = None
            try:
                compute.snapshot(ctxt, instance, image_id)
            except Exception as e:
                error = e
            seconds = time.monotonic() - start
            chosen, reason = decisions.decisions.get(image_id, ('-', '-'))
            # A refused upload deletes its image: Glance's 404 is its absence.
            image = (glance.image(image_id)
                     if glance.image_status(image_id) != 404 else None)
            if error is None:
                result = 'stores=%s status=%s size=%s' % (
                    image['stores'], image['status'], image['size'])
                ok = (image['status'] == 'active' and
                      image['stores'] == expected)
                path = 'stream'
            else:
                chosen, reason = store, type(error).__name__
                left = 'image left!' if image else 'no image left'
                result = 'refused (%s); %s' % (
                    getattr(error, 'kwargs', {}).get('reason', error), left)
                ok = expected is None and image is None
                path = '-'
            rows.append((label, chosen, reason, path, '%.1f' % seconds,
                         result, ok))
        state = libvirt_env.guest_state(daemon.uri, instance.name)
        rows.append(('guest state afterwards', '-', '-', '-', '-', state,
                     state == 'running'))
    finally:
        if compute is not None:
            compute.stop()
        if daemon is not None:
            daemon.stop()
        glance.stop()
    return rows


def print_table(rows, out=sys.stdout):
    headers = ('operation', 'store', 'reason', 'path', 'seconds',
               'Glance says', 'ok')
    cells = [headers] + [r[:-1] + ('yes' if r[-1] else 'NO',) for r in rows]
    widths = [min(60, max(len(str(c[i])) for c in cells))
              for i in range(len(headers))]
    for n, row in enumerate(cells):
        out.write('  '.join(str(c)[:widths[i]].ljust(widths[i])
                            for i, c in enumerate(row)).rstrip() + '\n')
        if n == 0:
            out.write('  '.join('-' * w for w in widths) + '\n')


def main():
    start = time.monotonic()
    reason = libvirt_env.missing_reason()
    if reason:
        print('demo cannot run: %s' % reason, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='ngm-demo-') as workdir:
        rows = run_demo(workdir)
    print()
    print_table(rows)
    bad = [r for r in rows if not r[-1]]
    print('\n%d operations, %d as expected, in %.0f s' % (
        len(rows), len(rows) - len(bad), time.monotonic() - start))
    return 1 if bad else 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    # nova's libvirt event threads never end by themselves.
    os._exit(code)
