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

"""Benchmark: copy-on-write and flattened ceph-native snapshots vs streaming.

One run, real services: a Ceph 16.2 cluster on bluestore (sparse file), a
Glance 33 whose rbd store ``rbdsnap`` uses pool ``snapshots`` of that
cluster, libvirtd with a QEMU guest whose root disk is ``vms/<disk>``, and
nova's real ``LibvirtDriver.snapshot()`` with our driver. For each size,
the same guest is snapshotted into ``rbdsnap`` three ways, side by side:

- copy-on-write: ``ceph_native_snapshot = copy-on-write``, a format 2 clone
  registered as it is (no byte copied);
- flatten: ``ceph_native_snapshot = flatten``, the clone flattened inside
  Ceph before it is registered;
- streaming: the same call made without access to the store's pool
  location (no stores/detail, no rbd_store_locations), so nova extracts
  the disk and uploads every byte through glance-api.

Then the read cost of clone chains: a whole-image read through librbd of a
clone at depth 1, 2 and 4 against the flat image it descends from.

    python -m bench.ceph_native_vs_stream [--sizes-mib 1024 4096] [--runs 1]

Targets: copy-on-write at least 6x faster than streaming at 1 GiB and 20x
at 4 GiB, and its 4 GiB time at most 1.3x its 1 GiB time.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from localenv import ceph as ceph_env
from localenv import common
from localenv import glance as glance_env
from localenv import libvirt as libvirt_env
from localenv import nova_compute

SERVICE_TOKEN = 'roles:member,reader,service'
USER_TOKEN = 'roles:member,reader'


def write_disk(cluster, pool, name, size_mib):
    import rados
    import rbd
    client = rados.Rados(conffile=cluster.conf,
                         conf={'keyring': cluster.admin_keyring})
    client.connect()
    try:
        with client.open_ioctx(pool) as ioctx:
            rbd.RBD().create(ioctx, name, size_mib << 20, old_format=False,
                             features=rbd.RBD_FEATURE_LAYERING)
            with rbd.Image(ioctx, name) as image:
                for offset in range(0, size_mib << 20, 4 << 20):
                    image.write(os.urandom(4 << 20), offset)
    finally:
        client.shutdown()


def wait_active(glance, image_id, timeout=600):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        image = glance.image(image_id)
        if image['status'] == 'active':
            return image
        time.sleep(0.05)
    raise RuntimeError('image %s never became active: %s' % (
        image_id, image))


class FlattenClock:
    """Seconds spent in nova's RBDDriver.flatten.

    Flatten is the byte copy the ceph-native path must make: it shows where
    that path's time goes.
    """

    def __init__(self):
        self.seconds = 0.0

    def install(self):
        from nova.storage import rbd_utils
        real = rbd_utils.RBDDriver.flatten
        clock = self

        def flatten(driver, volume, pool=None):
            start = time.monotonic()
            try:
                return real(driver, volume, pool=pool)
            finally:
                clock.seconds += time.monotonic() - start
        rbd_utils.RBDDriver.flatten = flatten
        return self


PATHS = (('copy-on-write', 'copy-on-write', SERVICE_TOKEN),
         ('flatten', 'flatten', SERVICE_TOKEN),
         ('stream', 'flatten', USER_TOKEN))


def chain_read_seconds(cluster, size_mib, runs, depths=(1, 2, 4)):
    """{depth: seconds} to read a whole image at the end of a clone chain.

    Depth 0 is the flat image every chain descends from; each clone is a
    format 2 clone of the previous one's snapshot, holding no data of its
    own, as copy-on-write snapshots of snapshots do.
    """
    import rados
    import rbd
    write_disk(cluster, 'vms', 'chain-0', size_mib)
    client = rados.Rados(conffile=cluster.conf, conf={
        'keyring': cluster.admin_keyring, 'rbd_default_clone_format': '2'})
    client.connect()
    try:
        with client.open_ioctx('vms') as ioctx:
            for depth in range(1, max(depths) + 1):
                with rbd.Image(ioctx, 'chain-%d' % (depth - 1)) as parent:
                    parent.create_snap('s')
                rbd.RBD().clone(ioctx, 'chain-%d' % (depth - 1), 's', ioctx,
                                'chain-%d' % depth, features=61)
            seconds = {}
            for depth in (0,) + tuple(depths):
                samples = []
                for _ in range(max(runs, 3)):
                    with rbd.Image(ioctx, 'chain-%d' % depth,
                                   read_only=True) as image:
                        start = time.monotonic()
                        for offset in range(0, image.size(), 4 << 20):
                            image.read(offset, 4 << 20)
                        samples.append(time.monotonic() - start)
                seconds[depth] = statistics.median(samples)
    finally:
        client.shutdown()
    return seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--sizes-mib', type=int, nargs='+',
                        default=[1024, 4096])
    parser.add_argument('--runs', type=int, default=1)
    args = parser.parse_args(argv)
    for reason in (libvirt_env.missing_reason(), ceph_env.missing_reason()):
        if reason:
            print('benchmark cannot run: %s' % reason, file=sys.stderr)
            return 2
    ceph_env.import_bindings()
    rows = []
    with tempfile.TemporaryDirectory(prefix='ngm-bench-ceph-',
                                     dir=common.CACHE) as workdir:
        cluster = ceph_env.CephCluster(
            os.path.join(workdir, 'ceph'), 'bench', objectstore='bluestore',
            size_gib=4 * max(args.sizes_mib) // 1024 + 8)
        os.makedirs(cluster.workdir)
        common.log('starting Ceph (bluestore)')
        cluster.start()
        glance = daemon = compute = None
        try:
            for pool in ('vms', 'snapshots'):
                cluster.create_pool(pool)
            # Glance purges deleted disks of the instance pool (see
            # doc/source/copy-on-write.rst); nova's user trashes them.
            cluster.create_user('glance', {
                'mon': 'profile rbd',
                'osd': 'profile rbd pool=snapshots, profile rbd pool=vms'})
            cluster.config_set('client.nova',
                               'rbd_move_parent_to_trash_on_remove', 'true')
            cluster.create_user('nova', {
                'mon': 'profile rbd',
                'osd': 'profile rbd pool=vms, profile rbd pool=snapshots'})
            common.log('starting Glance')
            glance = glance_env.GlanceServer(
                os.path.join(workdir, 'glance'),
                stores=[glance_env.StoreSpec('fast', 'file'),
                        glance_env.StoreSpec('rbdsnap', 'rbd', 'rbd', {
                            'rbd_store_pool': 'snapshots',
                            'rbd_store_user': 'glance',
                            'rbd_store_ceph_conf': cluster.conf})],
                extra_pythonpath=[ceph_env.bindings_dir()]).start()
            daemon = libvirt_env.Libvirtd(os.path.join(workdir, 'libvirt'))
            daemon.start()
            compute = nova_compute.NovaCompute(
                os.path.join(workdir, 'nova'), glance.url, daemon.uri,
                libvirt_env.virt_type(), overrides={
                    ('libvirt', 'images_type'): 'rbd',
                    ('libvirt', 'images_rbd_pool'): 'vms',
                    ('libvirt', 'images_rbd_ceph_conf'): cluster.conf,
                    ('libvirt', 'rbd_user'): 'nova',
                    ('glance', 'store'): 'rbdsnap'})
            compute.start()
            flatten = FlattenClock().install()
            for size in args.sizes_mib:
                instance = compute.make_instance(None)
                name = '%s_disk' % instance.uuid
                common.log('writing a %d MiB rbd disk' % size)
                write_disk(cluster, 'vms', name, size)
                daemon.define_rbd_guest(instance.name, instance.uuid,
                                        'vms/%s' % name, cluster.conf)
                times = {path: [] for path, _mode, _token in PATHS}
                times['flatten step'] = []
                for run in range(args.runs):
                    for path, mode, token in PATHS:
                        compute.set('glance_multistore',
                                    'ceph_native_snapshot', mode)
                        ctxt = compute.context()
                        ctxt.auth_token = token
                        ctxt.roles = token[len('roles:'):].split(',')
                        image_id = compute.create_queued_image(ctxt,
                                                               instance)
                        start = time.monotonic()
                        flatten.seconds = 0.0
                        compute.snapshot(ctxt, instance, image_id)
                        # Glance registers a location in a background
                        # task: done means active.
                        image = wait_active(glance, image_id)
                        elapsed = time.monotonic() - start
                        assert image['stores'] == 'rbdsnap', image
                        assert image['size'] == size << 20, image
                        times[path].append(elapsed)
                        if path == 'flatten':
                            times['flatten step'].append(flatten.seconds)
                        common.log('%d MiB %-11s %.1f s' % (size, path,
                                                            elapsed))
                        glance.delete_image(image_id)
                rows.append((size,) + tuple(
                    statistics.median(times[path]) for path in (
                        'copy-on-write', 'flatten', 'flatten step',
                        'stream')))
                daemon.remove_guest(instance.name)
                compute.driver._cleanup_rbd(instance)
            depths = chain_read_seconds(cluster, min(args.sizes_mib),
                                        args.runs)
        finally:
            if compute is not None:
                compute.stop()
            if daemon is not None:
                daemon.stop()
            if glance is not None:
                glance.stop()
            cluster.stop()
    print('\nsnapshot of a running guest on an rbd disk into rbd store '
          '"rbdsnap" (same cluster), median of %d run(s), seconds until '
          'the image is active' % args.runs)
    print('%9s %14s %9s %13s %9s %12s %12s' % (
        'size MiB', 'copy-on-write', 'flatten', '(flatten step)', 'stream',
        'stream/cow', 'stream/flat'))
    for size, cow, flat, step, stream in rows:
        print('%9d %14.2f %9.2f %13.2f %9.2f %11.1fx %11.1fx' % (
            size, cow, flat, step, stream, stream / cow, stream / flat))
    if len(rows) > 1:
        print('copy-on-write, largest/smallest size: %.2fx (target <= '
              '1.3x)' % (rows[-1][1] / rows[0][1]))
    print('targets: copy-on-write >= 6x faster than streaming at 1 GiB, '
          '>= 20x at 4 GiB')
    print('\nwhole-image read of a %d MiB clone through librbd, by chain '
          'depth (median of %d)' % (min(args.sizes_mib), max(args.runs, 3)))
    flat = depths[0]
    for depth, seconds in sorted(depths.items()):
        print('  depth %d: %.2f s (%.2fx the flat image)' % (
            depth, seconds, seconds / flat))
    return 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    os._exit(code)
