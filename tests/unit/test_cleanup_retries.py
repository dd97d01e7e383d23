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

"""Retrying pending cleanups: whose credentials, how long, how often.

The fakes record what they are asked and never raise into the retry: it
swallows every error, so only what was called (and removed, and logged)
shows what it did.
"""

import threading
import time

import glanceclient.exc
from oslo_config import cfg
import pytest

from nova_glance_multistore import cleanups
from nova_glance_multistore import glance_client
from nova_glance_multistore import opts
from nova_glance_multistore import pending_cleanups as pc
from nova_glance_multistore import uploads

SERVICE = 'service-context'


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeGlance:
    """Answers per (context, image id) from ``answers``; records calls."""

    DELETED, KEPT = 'deleted', 'kept'
    FAILED, REFUSED = 'failed', 'refused'

    def __init__(self, answers=None, default='deleted', on_call=None):
        self.answers = dict(answers or {})
        self.default = default
        self.on_call = on_call
        self.calls = []

    def stores_info(self, context):
        return None

    def discard_unfinished_image(self, context, image_id, instance=None):
        self.calls.append((context, image_id))
        if self.on_call:
            self.on_call(context, image_id)
        return self.answers.get((context, image_id), self.default)


class Instance:
    uuid = 'instance-uuid'


def make_conf(**overrides):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf.register_opt(cfg.StrOpt('images_type', default='qcow2'),
                      group='libvirt')
    conf([])
    for name, value in overrides.items():
        conf.set_override(name, value, group='glance_multistore')
    return conf


@pytest.fixture
def service(monkeypatch):
    asked = []

    def service_context(conf):
        asked.append(conf)
        return SERVICE
    monkeypatch.setattr(glance_client, 'service_context', service_context)
    return asked


def make_host(tmp_path, glance, conf=None):
    pending = pc.PendingCleanups(str(tmp_path / 'p.json'))
    host = uploads.StoreAwareUploads(conf or make_conf(), glance=glance,
                                     pipeline=object(), pending=pending)
    host.cleanups._clock = Clock()
    return host


def keys(pending):
    return [key for key, _ in pending.entries()]


# -- whose credentials ---------------------------------------------------

def test_refused_requester_context_falls_back_to_service_user(tmp_path,
                                                              service):
    glance = FakeGlance({('user', 'i1'): 'failed'})  # outage: recorded
    host = make_host(tmp_path, glance)
    host._discard('user', 'i1', Instance())
    assert keys(host.pending) == [pc.entry_key(
        pc.GLANCE_IMAGE, image_id='i1', instance_uuid='instance-uuid')]
    glance.answers[('user', 'i1')] = 'refused'  # token expired since
    host.retry_pending_cleanups()
    assert glance.calls == [('user', 'i1'), ('user', 'i1'), (SERVICE, 'i1')]
    assert keys(host.pending) == []
    assert host.cleanups._contexts == {}


def test_requester_context_is_forgotten_after_its_ttl(tmp_path, service):
    glance = FakeGlance({('user', 'old'): 'failed', ('user', 'new'): 'failed',
                         (SERVICE, 'new'): 'failed',
                         (SERVICE, 'old'): 'failed',
                         ('user', 'third'): 'failed'})
    host = make_host(tmp_path, glance)
    host._discard('user', 'old', Instance())
    host.cleanups._clock.now += cleanups.REQUESTER_CONTEXT_TTL - 1
    host._discard('user', 'new', Instance())
    assert set(host.cleanups._contexts) == {'new', 'old'}
    host.cleanups._clock.now += 2  # 'old' is past its TTL, 'new' is not
    del glance.calls[:]
    host.retry_pending_cleanups()
    assert sorted(glance.calls) == [(SERVICE, 'old'), ('user', 'new')]
    assert set(host.cleanups._contexts) == {'new'}
    host.cleanups._clock.now += cleanups.REQUESTER_CONTEXT_TTL
    host._discard('user', 'third', Instance())
    assert set(host.cleanups._contexts) == {'third'}  # the map does not grow


def test_refused_user_delete_is_recorded_without_its_context(tmp_path):
    glance = FakeGlance({('user', 'i'): 'refused'})
    host = make_host(tmp_path, glance)
    host._discard('user', 'i', Instance())
    assert len(keys(host.pending)) == 1
    assert host.cleanups._contexts == {}


class RaisingClient:
    """nova's GlanceClientWrapper stand-in: raises what Glance answered."""

    def __init__(self, error):
        self.error = error

    def call(self, context, version, method, controller=None, args=(),
             kwargs=None):
        raise self.error


@pytest.mark.parametrize('error, result', [
    (glanceclient.exc.HTTPUnauthorized('token expired'), 'refused'),
    (glanceclient.exc.HTTPForbidden('not yours'), 'refused'),
    (glanceclient.exc.HTTPNotFound('gone'), 'kept'),
    (glanceclient.exc.HTTPServiceUnavailable('down'), 'failed'),
    (IOError('connection refused'), 'failed'),
])
def test_discard_tells_a_refusal_from_an_outage_and_never_raises(
        error, result):
    facts = glance_client.GlanceFacts(client=RaisingClient(error))
    assert facts.discard_unfinished_image('ctx', 'i') == result


# -- rbd leftovers whatever images_type is now -------------------------

class FakeRbd:
    def __init__(self):
        self.calls = []

    def get_fsid(self):
        return 'A'

    def remove_snap(self, image, snapshot, pool, force, ignore_errors):
        self.calls.append(('remove_snap', pool, image, snapshot))

    def destroy_volume(self, image, pool):
        self.calls.append(('destroy', pool, image))


def test_rbd_leftovers_are_retried_on_a_host_moved_off_rbd(tmp_path,
                                                           monkeypatch):
    driver = FakeRbd()
    monkeypatch.setattr(cleanups.rbd_utils, 'RBDDriver', lambda: driver)
    conf = make_conf()
    assert conf.libvirt.images_type == 'qcow2'
    host = make_host(tmp_path, FakeGlance(), conf)
    host.pending.add(pc.RBD_CLONE, fsid='A', pool='images', image='c')
    host.retry_pending_cleanups()
    assert driver.calls == [('remove_snap', 'images', 'c', 'snap'),
                            ('destroy', 'images', 'c')]
    assert keys(host.pending) == []


# -- how long and how often -----------------------------------------------

def record(host, count):
    return [host.pending.add(pc.GLANCE_IMAGE, image_id='i%d' % n,
                             instance_uuid='u') for n in range(count)]


def test_budget_stops_starting_new_cleanups(tmp_path, service):
    # Each Glance call takes 2 (fake) seconds: with 5 seconds, cleanups
    # start at 0, 2 and 4, none at 6.
    host = None

    def slow(context, image_id):
        host.cleanups._clock.now += 2
    glance = FakeGlance(default='failed', on_call=slow)
    host = make_host(tmp_path, glance, make_conf(
        pending_cleanups_time_budget=5))
    recorded = record(host, 6)
    host.retry_pending_cleanups()
    assert [image for _, image in glance.calls] == ['i0', 'i1', 'i2']
    assert keys(host.pending) == recorded  # nothing lost


def test_hung_glance_delays_the_snapshot_by_the_budget_only(tmp_path,
                                                            service, caplog):
    release, returned = threading.Event(), threading.Event()

    def hang(context, image_id):
        release.wait(20)
        returned.set()
    glance = FakeGlance(on_call=hang)
    host = make_host(tmp_path, glance, make_conf(
        pending_cleanups_time_budget=1))
    host.cleanups._clock = time.monotonic  # the budget is real time here
    recorded = record(host, 3)
    try:
        host.retry_pending_cleanups()
        # Back while Glance still hangs in the first call.
        assert not returned.is_set()
        assert glance.calls == [(SERVICE, 'i0')]
        assert any('still waiting' in r.getMessage() for r in caplog.records)
        # The next snapshot does not start a second retry meanwhile.
        host.retry_pending_cleanups()
        assert glance.calls == [(SERVICE, 'i0')]
        assert any('previous retry is still running' in r.getMessage()
                   for r in caplog.records)
    finally:
        release.set()
    assert host.cleanups._retry_lock.acquire(timeout=30)  # the worker is done
    host.cleanups._retry_lock.release()
    assert keys(host.pending) == recorded[1:]


def test_failed_leftover_waits_the_retry_interval(tmp_path, service):
    glance = FakeGlance(default='failed')
    host = make_host(tmp_path, glance, make_conf(
        pending_cleanups_retry_interval=60))
    record(host, 2)
    host.retry_pending_cleanups()
    assert len(glance.calls) == 2
    host.cleanups._clock.now += 59
    host.retry_pending_cleanups()
    assert len(glance.calls) == 2  # still in its interval
    glance.default = 'deleted'
    host.cleanups._clock.now += 1
    host.retry_pending_cleanups()
    assert len(glance.calls) == 4
    assert keys(host.pending) == []
