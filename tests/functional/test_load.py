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

"""Many concurrent snapshots from one compute driver, bases in different
stores: each image lands in its own store, and no header crosses over.

Once in each of nova 34's concurrency modes: native threading (the
default of nova-compute since 2026.2) and eventlet (deprecated, still
selectable with ``[DEFAULT] concurrency_backend = eventlet``). Each runs
in a process started as nova-compute starts (see concurrent_snapshots.py),
which reports the mode it really ran in; Glance and the recording proxy
say where the images went.
"""

import sys

import pytest

from tests.functional import guest_images as env
from tests.functional import threading_modes

CONCURRENT = 16


@pytest.mark.parametrize('mode', ['threading', 'eventlet'])
def test_concurrent_snapshots_land_in_their_own_stores(
        glance, proxy, libvirtd, tmp_path, mode):
    stores = ['cheap', 'archive', 'fast']
    bases = []
    for n in range(CONCURRENT):
        store = stores[n % len(stores)]
        bases.append((env.base_image(glance, [store])['id'], store))
    host = threading_modes.ComputeProcess(str(tmp_path), proxy.url,
                                          libvirtd)
    for base_id, _store in bases:
        host.define_guest(base_id)
    proxy.clear()
    report, wall = host.run(mode, threading_modes.select(mode, tmp_path))
    print('\n%s mode: %d concurrent snapshots, peak %d in flight, %.1f s '
          'wall' % (mode, CONCURRENT, report['peak_in_flight'], wall),
          file=sys.stderr)
    threading_modes.assert_mode(report['mode'], mode)
    # nova's own executor for snapshots, as in nova-compute.
    assert report['executor'] == {
        'threading': 'ThreadPoolExecutor',
        'eventlet': 'GreenThreadPoolExecutor'}[mode]
    assert report['peak_in_flight'] > 1  # they really overlapped
    failures = [r for r in report['results'] if r['error']]
    assert not failures, failures
    store_of = dict(bases)
    results = {r['image_id']: (r['base_id'], store_of[r['base_id']])
               for r in report['results']}
    assert len(results) == CONCURRENT
    for image_id, (base_id, store) in results.items():
        env.assert_landed(glance, image_id, store)
    # No read of a snapshot file ran on the hub's OS thread (under eventlet
    # it would stall every green thread). Under eventlet the HTTP request
    # itself stays on green sockets, in the hub's OS thread: in an OS thread
    # it shares green locks (logging's, urllib3's) with green threads, and
    # nova-compute hangs (see offloaded_reads).
    assert report['uploads'] == CONCURRENT
    assert report['reads'] > CONCURRENT
    assert report['reads_on_main_os_thread'] == 0
    assert report['uploads_on_main_os_thread'] == {
        'threading': 0, 'eventlet': CONCURRENT}[mode]
    uploads = [r for r in proxy.recorded() if r.method == 'PUT']
    assert len(uploads) == CONCURRENT
    for upload in uploads:
        image_id = upload.path.split('/')[-2]
        base_id, store = results[image_id]
        assert upload.headers['x-image-meta-store'] == store
        assert upload.headers['x-openstack-base-image-ref'] == base_id
    others = [r for r in proxy.recorded() if r.method != 'PUT']
    assert others, 'the snapshots made no other Glance call'
    for request in others:
        assert 'x-image-meta-store' not in request.headers, request
        assert 'x-openstack-base-image-ref' not in request.headers, request
