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

"""Retrying pending cleanups against real outages.

A Glance SIGKILLed (refusing connections) or SIGSTOPped (accepting them and
never answering) while leftovers are recorded: the retry before each
snapshot adds at most ``[glance_multistore] pending_cleanups_time_budget``
seconds, starts no new cleanup once it is spent, and does not retry a
leftover that just failed before every snapshot. The seconds are printed
(run with ``-s``); what is asserted is which leftovers were attempted.
"""

import contextlib
import os
import signal
import time

from nova import exception as nova_exception
import pytest

from localenv import http_recorder
from nova_glance_multistore import glance_client
from nova_glance_multistore import pending_cleanups as pc
from tests.functional import guest_images as env
from tests.functional import test_faults


def leftovers(glance, uploads, count):
    """``count`` queued images recorded as pending deletions."""
    ids = []
    for n in range(count):
        image = glance.create_image('leftover-%d' % n)
        assert image['status'] == 'queued'
        uploads.pending.add(pc.GLANCE_IMAGE, image_id=image['id'],
                            instance_uuid='leftover-instance')
        ids.append(image['id'])
    return ids


def attempted(proxy, ids):
    """The leftovers whose image Glance was asked for, in order."""
    seen = []
    for request in proxy.recorded():
        for image_id in ids:
            if request.path == '/v2/images/%s' % image_id and \
                    image_id not in seen:
                seen.append(image_id)
    return seen


def wait_for_retry_worker(uploads, timeout=120):
    """The background retry (if any) has finished."""
    assert uploads.cleanups._retry_lock.acquire(timeout=timeout)
    uploads.cleanups._retry_lock.release()


def clean_up_everything(compute, uploads):
    """Glance is back: every leftover goes, whatever its retry interval."""
    compute.set('glance_multistore', 'pending_cleanups_retry_interval', 0)
    for _ in range(10):
        wait_for_retry_worker(uploads)
        uploads.cleanups._not_before.clear()
        uploads.retry_pending_cleanups()
        wait_for_retry_worker(uploads)
        if not uploads.pending.entries():
            return
    pytest.fail('still pending: %s' % uploads.pending.entries())


@pytest.fixture
def budget(compute):
    compute.set('glance_multistore', 'pending_cleanups_time_budget', 2)
    yield 2
    for name in ('pending_cleanups_time_budget',
                 'pending_cleanups_retry_interval'):
        compute.clear('glance_multistore', name)
    compute.set('glance', 'num_retries', 0)


def timed(function, seconds):
    def wrapper(*args, **kwargs):
        start = time.monotonic()
        try:
            return function(*args, **kwargs)
        finally:
            seconds.append(time.monotonic() - start)
    return wrapper


def test_glance_killed_retry_adds_at_most_the_budget_per_snapshot(
        glance, proxy, compute, boot, budget, monkeypatch):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    uploads = compute.driver._store_aware_uploads
    orphan = test_faults.snapshot_with_glance_killed(
        glance, proxy, compute, guest)
    ids = [orphan] + leftovers(glance, uploads, 5)
    # Each attempt against a dead Glance now takes about 3 s (nova's own
    # retries, 1 s apart): more than the budget of 2 s.
    compute.set('glance', 'num_retries', 3)
    retry_seconds = []
    monkeypatch.setattr(uploads, 'retry_pending_cleanups',
                        timed(uploads.retry_pending_cleanups,
                              retry_seconds))
    queued = [glance.create_image('during-outage-%d' % n)['id']
              for n in range(2)]
    glance.kill()
    per_snapshot = []
    try:
        for image_id in queued:
            proxy.clear()
            start = time.monotonic()
            with pytest.raises(nova_exception.NovaException):
                compute.snapshot(compute.context(), guest.instance, image_id)
            others = [i for i in ids + queued if i != image_id]
            per_snapshot.append((time.monotonic() - start,
                                 attempted(proxy, others)))
        # Whatever the last retry's worker still does, during the outage.
        wait_for_retry_worker(uploads)
        (_, first), (_, second) = per_snapshot
        during_outage = set(first) | set(attempted(proxy, ids))
    finally:
        glance.start()
        compute.set('glance', 'num_retries', 0)
    try:
        report(per_snapshot, retry_seconds, budget, len(ids))
        print('leftovers attempted during the outage, by both retries: '
              '%d of %d' % (len(during_outage), len(ids)))
        # The budget stopped each retry: not every leftover was tried.
        assert 1 <= len(first)
        assert len(during_outage) < len(ids)
        # What failed in the first retry is not tried again by the next.
        assert not set(first) & set(second)
        assert all(added < budget + 5 for added in retry_seconds)
    finally:
        clean_up_everything(compute, uploads)
    for image_id in ids + queued:
        glance.assert_image_gone(image_id)
    assert guest.state == 'running'


def report(per_snapshot, retry_seconds, budget, recorded):
    for n, ((total, tried), added) in enumerate(zip(per_snapshot,
                                                    retry_seconds)):
        print('snapshot %d during the outage: retry added %.1f s (budget '
              '%d s) of %.1f s in all; leftovers attempted: %d of %d' % (
                  n + 1, added, budget, total, len(tried), recorded + n))


@contextlib.contextmanager
def glance_hanging(glance):
    """glance-api stopped: connections are accepted, nothing is answered."""
    os.killpg(glance.process.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.killpg(glance.process.pid, signal.SIGCONT)


def test_hung_glance_delays_the_retry_by_the_budget_only(
        glance, proxy, compute, budget):
    uploads = compute.driver._store_aware_uploads
    ids = leftovers(glance, uploads, 4)
    proxy.clear()
    try:
        with glance_hanging(glance):
            start = time.monotonic()
            uploads.retry_pending_cleanups()  # as before every snapshot
            first = time.monotonic() - start
            tried = attempted(proxy, ids)
            start = time.monotonic()
            uploads.retry_pending_cleanups()  # the next snapshot's
            second = time.monotonic() - start
            print('Glance hanging: the retry returned after %.1f s (budget '
                  '%d s), the next one after %.2f s; leftovers attempted: '
                  '%d of %d' % (first, budget, second, len(tried), len(ids)))
            # Stuck in the first one; the next snapshot starts no second
            # retry while it is.
            assert len(tried) == 1
            assert attempted(proxy, ids) == tried
            assert first < budget + 5  # generous: the bound, not a speed
    finally:
        clean_up_everything(compute, uploads)
    for image_id in ids:
        glance.assert_image_gone(image_id)


def test_requester_token_refused_the_service_user_deletes_the_orphan(
        glance, proxy, compute, boot):
    """Glance answers 401 to the requester's (expired) token on retry."""
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    uploads = compute.driver._store_aware_uploads
    orphan = test_faults.snapshot_with_glance_killed(
        glance, proxy, compute, guest)
    assert orphan in uploads.cleanups._contexts
    proxy.clear()
    proxy.fail_next(1, status=401, method='GET')
    uploads.retry_pending_cleanups()
    wait_for_retry_worker(uploads)
    asked = [(r.method, r.headers.get('x-auth-token'))
             for r in proxy.recorded() if orphan in r.path]
    assert asked == [('GET', 'localenv'),  # the requester's: refused
                     ('GET', 'unused-without-keystone'),  # nova's own
                     ('DELETE', 'unused-without-keystone')]
    glance.assert_image_gone(orphan)
    assert uploads.pending_discards() == []
    assert orphan not in uploads.cleanups._contexts


# -- nova's service user authenticates once, not per call --------------

@pytest.fixture(scope='module')
def keystone(tmp_path_factory):
    from localenv import keystone as keystone_env
    server = keystone_env.KeystoneServer(
        str(tmp_path_factory.mktemp('keystone'))).start()
    server.user('nova', 'service', ['service'])
    recorder = http_recorder.RecordingProxy(
        'http://127.0.0.1:%d' % server.port).start()
    yield server, recorder
    recorder.stop()
    server.stop()


@pytest.fixture
def service_user(compute, keystone):
    from keystoneauth1 import loading as ks_loading
    import nova.conf
    from nova import service_auth
    server, recorder = keystone
    conf = nova.conf.CONF
    conf.register_opts(ks_loading.get_auth_plugin_conf_options('password'),
                       group='service_user')
    settings = {
        'auth_type': 'password', 'auth_url': recorder.url + '/v3',
        'username': 'nova', 'password': server.passwords['nova'],
        'project_name': 'service', 'user_domain_id': 'default',
        'project_domain_id': 'default'}
    for name, value in settings.items():
        conf.set_override(name, value, group='service_user')
    service_auth.reset_globals()
    yield conf, recorder
    for name in settings:
        conf.clear_override(name, group='service_user')
    service_auth.reset_globals()


def test_service_context_authenticates_once_for_several_calls(
        service_user):
    conf, recorder = service_user
    recorder.clear()
    first = glance_client.service_context(conf)
    second = glance_client.service_context(conf)
    posts = [r for r in recorder.recorded()
             if r.method == 'POST' and r.path.endswith('/auth/tokens')]
    print('two service contexts: %d token request(s) to Keystone' %
          len(posts))
    assert len(posts) == 1
    assert first.auth_token == second.auth_token
    assert 'service' in first.roles and first is not second


# -- rbd leftovers: whatever images_type is now, within the budget ------

@pytest.fixture(scope='module')
def cluster(tmp_path_factory):
    from localenv import ceph as ceph_env
    reason = ceph_env.missing_reason()
    if reason:
        pytest.skip('no real Ceph here: %s' % reason)
    workdir = str(tmp_path_factory.mktemp('ceph-retries') / 'c')
    os.makedirs(workdir)
    server = ceph_env.CephCluster(workdir, 'retries', client_op_timeout=20)
    server.start()
    server.create_pool('vms')
    server.create_user('nova', {'mon': 'profile rbd',
                                'osd': 'profile rbd pool=vms'})
    yield server
    server.stop()


def disk_snapshots(cluster, names=None):
    """{image: [snapshot names]} of pool ``vms``; creates ``names`` first."""
    import rados
    import rbd
    client = rados.Rados(conffile=cluster.conf,
                         conf={'keyring': cluster.admin_keyring})
    client.connect()
    try:
        with client.open_ioctx('vms') as ioctx:
            for name in names or ():
                rbd.RBD().create(ioctx, name, 1 << 20, old_format=False,
                                 features=rbd.RBD_FEATURE_LAYERING)
                with rbd.Image(ioctx, name) as image:
                    image.create_snap('nova-snap')
            state = {}
            for name in rbd.RBD().list(ioctx):
                with rbd.Image(ioctx, name, read_only=True) as image:
                    state[name] = [s['name'] for s in image.list_snaps()]
            return state
    finally:
        client.shutdown()


def test_rbd_leftovers_of_a_host_moved_off_rbd_within_the_budget(
        compute, cluster, budget):
    """The host is not ``images_type = rbd`` (any more); its leftovers are.

    With the OSD stopped, removing one waits for Ceph's client timeout
    (20 s): the retry still returns after the budget, having started one.
    """
    import nova.conf
    assert nova.conf.CONF.libvirt.images_type != 'rbd'
    settings = {'images_rbd_pool': 'vms', 'rbd_user': 'nova',
                'images_rbd_ceph_conf': cluster.conf}
    for name, value in settings.items():
        compute.set('libvirt', name, value)
    uploads = compute.driver._store_aware_uploads
    names = ['leftover-disk-%d' % n for n in range(3)]
    try:
        disk_snapshots(cluster, names)
        keys = [uploads.pending.add(
            pc.RBD_SNAPSHOT, fsid=cluster.fsid, pool='vms', image=name,
            snapshot='nova-snap') for name in names]
        cluster.stop_osd()
        try:
            start = time.monotonic()
            uploads.retry_pending_cleanups()
            took = time.monotonic() - start
            wait_for_retry_worker(uploads)
            failed = sorted(uploads.cleanups._not_before)
            print('OSD stopped: the retry returned after %.1f s (budget %d '
                  's); rbd leftovers attempted: %d of %d' % (
                      took, budget, len(failed), len(keys)))
            assert len(failed) == 1 and failed[0] in keys
            assert took < budget + 5  # generous: the bound, not a speed
        finally:
            cluster.start_osd()
        clean_up_everything(compute, uploads)
        assert disk_snapshots(cluster) == {name: [] for name in names}
    finally:
        for name in settings:
            compute.clear('libvirt', name)
