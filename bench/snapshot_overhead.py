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

"""Benchmark: our store-aware snapshot vs nova's stock snapshot.

In one run, the same real QEMU guest disk is snapshotted through nova's
stock ``libvirt.LibvirtDriver`` and through ``glance_multistore.
LibvirtDriver`` into the same Glance store (the default store, which holds
the base image), alternating, several times each. Prints the median time
of each, the ratio ours/stock, and the Glance API calls each made per
snapshot (counted by a recording proxy; our stores cache is warm).

Targets: ratio <= 1.03; at most 2 extra Glance calls per snapshot.

    python -m bench.snapshot_overhead [--size-mib 512] [--runs 5]
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

from localenv import common
from localenv import glance as glance_env
from localenv import http_recorder
from localenv import libvirt as libvirt_env
from localenv import nova_compute


def load(compute, driver_name):
    compute.compute_driver = driver_name
    compute.overrides[('DEFAULT', 'compute_driver')] = driver_name
    return compute.start()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--size-mib', type=int, default=512,
                        help='written data in the guest disk')
    parser.add_argument('--runs', type=int, default=5)
    args = parser.parse_args(argv)
    reason = libvirt_env.missing_reason()
    if reason:
        print('benchmark cannot run: %s' % reason, file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix='ngm-bench-') as workdir:
        glance = glance_env.GlanceServer(os.path.join(workdir, 'glance'))
        glance.start()
        proxy = http_recorder.RecordingProxy(glance.url).start()
        daemon = libvirt_env.Libvirtd(os.path.join(workdir, 'libvirt'))
        daemon.start()
        compute = nova_compute.NovaCompute(
            os.path.join(workdir, 'nova'), proxy.url, daemon.uri,
            libvirt_env.virt_type(),
            overrides={('glance_multistore', 'stores_cache_ttl'): 600})
        try:
            base = glance.create_image('bench-base', b'\0' * 4096,
                                       store='fast')
            drivers = {
                'stock': load(compute, 'libvirt.LibvirtDriver'),
                'ours': load(compute, 'glance_multistore.LibvirtDriver'),
            }
            instance = compute.make_instance(base['id'])
            common.log('writing a %d MiB guest disk' % args.size_mib)
            disk, _ = libvirt_env.create_guest_disk(
                os.path.join(compute.instances_path, instance.uuid),
                os.path.join(compute.instances_path, '_base'),
                size_mib=args.size_mib + 64, written_mib=args.size_mib,
                seed='bench')
            daemon.define_guest(instance.name, instance.uuid, disk)
            ctxt = compute.context()
            times = {'stock': [], 'ours': []}
            calls = {'stock': [], 'ours': []}

            def once(name):
                image_id = compute.create_queued_image(ctxt, instance)
                proxy.clear()
                start = time.monotonic()
                drivers[name].snapshot(ctxt, instance, image_id,
                                       lambda **kw: None)
                elapsed = time.monotonic() - start
                made = len(proxy.recorded())
                image = glance.image(image_id)
                assert image['status'] == 'active' and \
                    image['stores'] == 'fast', image
                glance.delete_image(image_id)
                return elapsed, made

            once('ours')  # warm the stores cache and the page cache
            once('stock')
            for run in range(args.runs):
                for name in (('stock', 'ours') if run % 2 == 0
                             else ('ours', 'stock')):
                    elapsed, made = once(name)
                    times[name].append(elapsed)
                    calls[name].append(made)
                    common.log('run %d %-5s %.2f s, %d Glance calls' % (
                        run + 1, name, elapsed, made))
        finally:
            compute.stop()
            daemon.stop()
            proxy.stop()
            glance.stop()
    stock = statistics.median(times['stock'])
    ours = statistics.median(times['ours'])
    extra = statistics.median(calls['ours']) - statistics.median(
        calls['stock'])
    print('\nsnapshot of a guest disk with %d MiB written, %d runs each, '
          'same store (fast)' % (args.size_mib, args.runs))
    print('%-6s %10s %14s' % ('path', 'median s', 'Glance calls'))
    print('%-6s %10.2f %14d' % ('stock', stock,
                                statistics.median(calls['stock'])))
    print('%-6s %10.2f %14d' % ('ours', ours,
                                statistics.median(calls['ours'])))
    print('ratio ours/stock: %.3f (target <= 1.03)' % (ours / stock))
    print('extra Glance calls per snapshot: %d (target <= 2)' % extra)
    return 0


if __name__ == '__main__':
    code = main()
    sys.stdout.flush()
    os._exit(code)
