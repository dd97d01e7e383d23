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

"""Benchmark: glance-api's memory while a snapshot goes into an S3 store.

One run, real services: a Ceph 16.2 cluster on bluestore with radosgw, a
Glance 33 whose default store ``fast`` is an S3 bucket on that RGW (the
options' defaults: multipart from 100 MiB in 10 MiB parts). The same
image file is uploaded side by side, alternately, by:

- stock nova: ``GlanceImageServiceV2._upload_data`` (glanceclient sends
  the body chunked and no size: glance_store takes the single-part path);
- ours: ``StoreAwareImageService._upload_data`` with the upload target of
  store ``fast`` and its stores/detail entry (the size goes in
  ``x-openstack-image-size``: multipart).

glance-api's resident memory (every process of its gunicorn) is sampled
every 20 ms; the growth over its level before the upload is reported
against the image size, with RGW's etag showing single-part or multipart.

    python -m bench.s3_upload_memory [--size-mib 1024] [--runs 1]

Target: our peak growth under 10% of the image size; stock nova's is the
whole image.
"""

import argparse
import os
import sys
import tempfile
import threading
import time

from localenv import ceph as ceph_env
from localenv import common
from localenv import glance as glance_env
from localenv import nova_compute
from localenv import rgw as rgw_env


def _group_rss(pgid):
    """Resident bytes of every process in process group ``pgid``."""
    total = 0
    for pid in os.listdir('/proc'):
        if not pid.isdigit():
            continue
        try:
            with open('/proc/%s/stat' % pid) as handle:
                fields = handle.read().rsplit(')', 1)[1].split()
            if int(fields[2]) != pgid:
                continue
            with open('/proc/%s/statm' % pid) as handle:
                total += int(handle.read().split()[1]) * os.sysconf(
                    'SC_PAGE_SIZE')
        except (OSError, IndexError, ValueError):
            continue
    return total


class PeakSampler:
    """The highest group RSS seen while the ``with`` block runs."""

    def __init__(self, pgid, interval=0.02):
        self.pgid = pgid
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()

    def __enter__(self):
        self.before = _group_rss(self.pgid)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self):
        while not self._stop.is_set():
            self.peak = max(self.peak, _group_rss(self.pgid))
            time.sleep(self.interval)

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _group_rss(self.pgid))

    @property
    def growth(self):
        return max(0, self.peak - self.before)


def upload(way, glance, compute, path, detail):
    """One upload of ``path`` the ``way`` given; (image id, growth, s)."""
    from nova.image import glance as nova_glance

    from nova_glance_multistore import image_api
    from nova_glance_multistore import target as target_mod

    image = glance.create_image('bench-%s' % way)
    ctxt = compute.context()
    targets = image_api.UploadTargets()
    if way == 'ours':
        service = image_api.StoreAwareImageService(targets)
    else:
        service = nova_glance.GlanceImageServiceV2()
    target = target_mod.UploadTarget('fast', 'bench', None, detail)
    with targets.registered(image['id'], target), open(path, 'rb') as data:
        with PeakSampler(os.getpgid(glance.process.pid)) as sampler:
            start = time.monotonic()
            service._upload_data(ctxt, image['id'], data)
            seconds = time.monotonic() - start
    return image['id'], sampler.growth, seconds


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-mib', type=int, default=1024)
    parser.add_argument('--runs', type=int, default=1)
    args = parser.parse_args(argv)
    for reason in (ceph_env.missing_reason(), rgw_env.missing_reason()):
        if reason:
            print('benchmark cannot run: %s' % reason, file=sys.stderr)
            return 2
    size = args.size_mib << 20
    rows = []
    with tempfile.TemporaryDirectory(prefix='ngm-bench-s3-',
                                     dir=common.CACHE) as workdir:
        cluster = ceph_env.CephCluster(
            os.path.join(workdir, 'ceph'), 'bench', objectstore='bluestore',
            size_gib=3 * args.size_mib // 1024 + 6)
        os.makedirs(cluster.workdir)
        gateway = glance = None
        try:
            common.log('starting Ceph (bluestore) and radosgw')
            cluster.start()
            gateway = rgw_env.RadosGateway(cluster).start()
            glance = glance_env.GlanceServer(
                os.path.join(workdir, 'glance'),
                stores=[rgw_env.s3_store(gateway, 'fast',
                                         large_object_mib=100,
                                         chunk_mib=10)],
                default_store='fast').start()
            status, body = glance.request(
                'GET', '/v2/info/stores/detail', token=glance.admin_token())
            assert status == 200, (status, body)
            detail = next(s for s in body['stores'] if s['id'] == 'fast')
            compute = nova_compute.NovaCompute(
                os.path.join(workdir, 'nova'), glance.url, None, 'qemu')
            compute.configure()
            path = os.path.join(workdir, 'image.raw')
            with open(path, 'wb') as handle:
                for _ in range(args.size_mib):
                    handle.write(os.urandom(1 << 20))
            for run in range(args.runs):
                for way in ('stock', 'ours'):
                    common.log('run %d: %s upload of %d MiB' % (
                        run + 1, way, args.size_mib))
                    image_id, growth, seconds = upload(
                        way, glance, compute, path, detail)
                    image = glance.image(image_id)
                    assert (image['status'], image['size']) == (
                        'active', size), image
                    etag = gateway.etags('bucket-for-fast')[image_id]
                    rows.append((way, growth, seconds, etag))
                    glance.delete_image(image_id)
                    gateway.collect_garbage()
        finally:
            for service in (glance, gateway, cluster):
                if service is not None:
                    service.stop()
    print('\nglance-api memory while a %d MiB image goes into S3 store '
          'fast (RGW):' % args.size_mib)
    print('%-6s %14s %10s %8s  %s' % (
        'upload', 'peak growth', 'of image', 'seconds', 'RGW etag'))
    for way, growth, seconds, etag in rows:
        print('%-6s %10.0f MiB %9.1f%% %8.1f  %s' % (
            way, growth / (1 << 20), 100.0 * growth / size, seconds, etag))
    ours = max(g for w, g, _, _ in rows if w == 'ours')
    stock = min(g for w, g, _, _ in rows if w == 'stock')
    print('ours/stock peak growth: %.3f; ours %.1f%% of the image (target '
          '< 10%%)' % (ours / stock if stock else float('nan'),
                       100.0 * ours / size))
    return 0 if ours < 0.1 * size else 1


if __name__ == '__main__':
    sys.exit(main())
