"""Many concurrent snapshots from one compute driver, bases in different
stores: each image lands in its own store, and no header crosses over."""

import concurrent.futures
import sys
import time

from tests.functional import conftest as env

CONCURRENT = 16


def test_concurrent_snapshots_land_in_their_own_stores(
        glance, proxy, boot):
    stores = ['cheap', 'archive', 'fast']
    guests = []
    for n in range(CONCURRENT):
        store = stores[n % len(stores)]
        base = env.base_image(glance, [store])
        guests.append((boot(base['id']), base['id'], store))
    proxy.clear()
    start = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(CONCURRENT) as pool:
        futures = {pool.submit(guest.snapshot, 'snapshot'): (
            guest, base_id, store) for guest, base_id, store in guests}
        results = {}
        failures = []
        for future in concurrent.futures.as_completed(futures):
            guest, base_id, store = futures[future]
            try:
                results[future.result()] = (base_id, store)
            except Exception as e:
                failures.append(e)
    wall = time.monotonic() - start
    print('\n%d concurrent snapshots, %d failures, %.1f s wall' % (
        CONCURRENT, len(failures), wall), file=sys.stderr)
    assert not failures, failures
    assert len(results) == CONCURRENT
    for image_id, (base_id, store) in results.items():
        env.assert_landed(glance, image_id, store)
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
