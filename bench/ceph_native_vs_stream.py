"""Benchmark: ceph-native snapshot vs streaming, into the same rbd store.

One run, real services: a Ceph 16.2 cluster on bluestore (sparse file), a
Glance 33 whose rbd store ``rbdsnap`` uses pool ``snapshots`` of that
cluster, libvirtd with a QEMU guest whose root disk is ``vms/<disk>``, and
nova's real ``LibvirtDriver.snapshot()`` with our driver. For each size,
the same guest is snapshotted into ``rbdsnap``:

- ceph-native: our clone into the store's pool (nova holds the service
  role needed to register the location);
- streaming: the same call made without access to the store's pool
  location (no stores/detail, no rbd_store_locations), so nova extracts
  the disk and uploads every byte through glance-api.

    python -m bench.ceph_native_vs_stream [--sizes-mib 1024 4096] [--runs 1]

Target: ceph-native at least 10x faster than streaming at 1 GiB.
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
            cluster.create_user('glance', {
                'mon': 'profile rbd', 'osd': 'profile rbd pool=snapshots'})
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
                times = {'ceph-native': [], 'stream': [], 'flatten': []}
                for run in range(args.runs):
                    for path, token in (('ceph-native', SERVICE_TOKEN),
                                        ('stream', USER_TOKEN)):
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
                        if path == 'ceph-native':
                            times['flatten'].append(flatten.seconds)
                        common.log('%d MiB %-11s %.1f s' % (size, path,
                                                            elapsed))
                        glance.delete_image(image_id)
                native = statistics.median(times['ceph-native'])
                stream = statistics.median(times['stream'])
                rows.append((size, native, stream, stream / native,
                             statistics.median(times['flatten'])))
        finally:
            if compute is not None:
                compute.stop()
            if daemon is not None:
                daemon.stop()
            if glance is not None:
                glance.stop()
            cluster.stop()
    print('\nsnapshot of a running guest on an rbd disk into rbd store '
          '"rbdsnap" (same cluster), median of %d run(s)' % args.runs)
    print('%10s %14s %12s %10s %16s' % (
        'size MiB', 'ceph-native s', '(flatten s)', 'stream s',
        'stream/native'))
    for size, native, stream, ratio, flat in rows:
        print('%10d %14.1f %12.1f %10.1f %15.1fx' % (size, native, flat,
                                                     stream, ratio))
    print('target: ceph-native >= 10x faster than streaming at 1 GiB')
    return 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    os._exit(code)
