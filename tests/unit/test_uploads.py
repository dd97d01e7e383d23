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

"""One upload's decide/validate/clean-up steps, with Glance faked.

The functional tests drive these through nova's real driver; here each
branch of ``plan``, ``_fall_back``, ``upload`` and the start-up check is
reached on purpose, including those a real Glance seldom produces.
"""

import types

from oslo_config import cfg
import pytest

from nova_glance_multistore import checks
from nova_glance_multistore import cleanups
from nova_glance_multistore import exception
from nova_glance_multistore import opts
from nova_glance_multistore import pending_cleanups
from nova_glance_multistore import target as target_mod
from nova_glance_multistore import uploads

BASE = '7d3a2c55-8a1b-4a43-9c7e-0c8f1a0b5e21'
IMAGE = 'b1f0c8de-5d7e-4f5b-8a3e-2f6c9d1e4a77'
STORES = {'stores': [
    {'id': 'fast', 'default': 'true'},
    {'id': 'cheap'},
    {'id': 'web', 'read-only': 'true'},
]}


class FakeGlance:
    """Store facts and image deletions, answered from fixed data."""

    DELETED, KEPT, FAILED = 'deleted', 'kept', 'failed'

    def __init__(self, stores=STORES, discard=DELETED, stores_error=None):
        self.stores = stores
        self.discard_result = discard
        self.stores_error = stores_error
        self.discarded = []
        self.stores_calls = 0

    def stores_info(self, context):
        self.stores_calls += 1
        if self.stores_error is not None:
            raise self.stores_error
        return self.stores

    def image_stores(self, context, image_id):
        return ['cheap']

    def discard_unfinished_image(self, context, image_id, instance=None):
        self.discarded.append((context, image_id, instance))
        return self.discard_result


class FakePending:
    """Records what would be written to the pending-cleanups file."""

    def __init__(self):
        self.added = []

    def add(self, kind, **fields):
        self.added.append(dict(fields, kind=kind))

    def entries(self, kind=None):
        return []


class ChoosingPipeline:
    """A hook pipeline that sets a fixed target (or none)."""

    def __init__(self, target):
        self.target = target
        self.requests = []

    def run(self, request):
        self.requests.append(request)
        return self.target


def _conf(policy='refuse', store=None):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf.register_opt(cfg.StrOpt('auth_type'), group='service_user')  # nova's
    conf([])
    conf.set_override('on_unusable_store', policy, group='glance_multistore')
    conf.set_override('stores_cache_ttl', 0, group='glance_multistore')
    conf.set_override('store', store, group='glance')
    return conf


def _instance(task_state='image_backup'):
    return types.SimpleNamespace(uuid='inst-1', image_ref=BASE,
                                 task_state=task_state)


def _uploads(target, glance=None, policy='refuse', store=None):
    glance = glance or FakeGlance()
    pending = FakePending()
    pipeline = ChoosingPipeline(target)
    return uploads.StoreAwareUploads(
        _conf(policy, store), glance=glance, pipeline=pipeline,
        pending=pending), glance, pipeline, pending


def _target(store, reason='chosen by a hook'):
    return target_mod.UploadTarget(store, reason, BASE)


def test_plan_returns_the_hook_choice_and_hands_hooks_the_facts():
    ctxt = object()
    up, glance, pipeline, _ = _uploads(_target('cheap'))
    chosen = up.plan(ctxt, _instance(), IMAGE)
    assert chosen == _target('cheap')
    request, = pipeline.requests
    assert (request.context, request.image_id, request.kind,
            request.base_image_ref) == (ctxt, IMAGE, 'backup', BASE)
    assert request.stores.writable_ids() == ['fast', 'cheap']
    assert request.glance is glance
    assert glance.discarded == []


def test_plan_without_a_hook_choice_uses_glance_default():
    up, _, _, _ = _uploads(None)
    chosen = up.plan(object(), _instance(), IMAGE)
    assert chosen.store == 'fast'
    assert chosen.reason.startswith('no upload hook chose a store')
    assert chosen.base_image_ref == BASE


def test_plan_without_a_hook_choice_and_multistore_off_lets_glance_pick():
    up, _, _, _ = _uploads(None, glance=FakeGlance(stores=None))
    chosen = up.plan(object(), _instance(), IMAGE)
    assert chosen.store is None
    assert chosen.headers() == {}


@pytest.mark.parametrize('store, reason', [
    ('nowhere', 'not enabled in Glance'), ('web', 'read-only'),
    ('os_glance_staging_store', 'reserved')])
def test_plan_refuses_an_unusable_store(store, reason):
    up, glance, _, _ = _uploads(_target(store))
    with pytest.raises(exception.StoreRefused) as refused:
        up.plan(object(), _instance(), IMAGE)
    assert reason in str(refused.value)
    assert 'Valid stores: fast, cheap' in str(refused.value)
    assert glance.discarded == []  # plan() itself has no side effects


def test_fall_back_to_default_store_when_policy_says_so():
    up, _, _, _ = _uploads(_target('web'), policy='default')
    chosen = up.plan(object(), _instance(), IMAGE)
    assert chosen.store == 'fast'
    assert chosen.reason.startswith('fallback: ')
    assert 'read-only' in chosen.reason
    assert chosen.base_image_ref == BASE


def test_no_fall_back_when_multistore_is_off():
    up, _, _, _ = _uploads(_target('cheap'), glance=FakeGlance(stores=None),
                           policy='default')
    with pytest.raises(exception.StoreRefused) as refused:
        up.plan(object(), _instance(), IMAGE)
    assert 'multi-store is not enabled' in str(refused.value)


def test_no_fall_back_when_glance_has_no_default_store():
    no_default = {'stores': [{'id': 'cheap'}, {'id': 'web',
                                               'read-only': 'true'}]}
    up, _, _, _ = _uploads(_target('web'),
                           glance=FakeGlance(stores=no_default),
                           policy='default')
    with pytest.raises(exception.StoreRefused):
        up.plan(object(), _instance(), IMAGE)


def test_upload_refused_deletes_the_queued_image_and_registers_nothing():
    ctxt = object()
    instance = _instance()
    up, glance, _, pending = _uploads(_target('web'))
    body_ran = []
    with pytest.raises(exception.StoreRefused):
        with up.upload(ctxt, instance, IMAGE):
            body_ran.append(True)
    assert body_ran == []
    assert glance.discarded == [(ctxt, IMAGE, instance)]
    assert len(up.targets) == 0
    assert pending.added == []


def test_upload_registers_the_target_only_while_the_driver_runs():
    ctxt = object()
    up, glance, _, _ = _uploads(_target('cheap'))
    with up.upload(ctxt, _instance(), IMAGE) as chosen:
        assert up.targets.get(IMAGE) is chosen
        assert up.image_api()._targets is up.targets
    assert up.targets.get(IMAGE) is None
    assert glance.discarded == []


def test_failed_snapshot_deletes_the_queued_image_and_reraises():
    ctxt = object()
    instance = _instance()
    up, glance, _, pending = _uploads(_target('cheap'))
    with pytest.raises(RuntimeError, match='disk read failed'):
        with up.upload(ctxt, instance, IMAGE):
            raise RuntimeError('disk read failed')
    assert glance.discarded == [(ctxt, IMAGE, instance)]
    assert up.targets.get(IMAGE) is None
    assert pending.added == []


def test_image_glance_cannot_delete_now_is_recorded_with_its_context():
    ctxt = object()
    up, glance, _, pending = _uploads(
        _target('cheap'), glance=FakeGlance(discard=FakeGlance.FAILED))
    with pytest.raises(RuntimeError):
        with up.upload(ctxt, _instance(), IMAGE):
            raise RuntimeError('Glance went away')
    assert pending.added == [{'kind': pending_cleanups.GLANCE_IMAGE,
                              'image_id': IMAGE, 'instance_uuid': 'inst-1'}]
    assert up.cleanups._contexts == {IMAGE: ctxt}


def test_image_gone_or_kept_is_not_recorded():
    up, _, _, pending = _uploads(
        _target('cheap'), glance=FakeGlance(discard=FakeGlance.KEPT))
    with pytest.raises(RuntimeError):
        with up.upload(object(), _instance(), IMAGE):
            raise RuntimeError('failed')
    assert pending.added == []
    assert up.cleanups._contexts == {}


def _configured(up):
    return checks.configured_stores(up.conf, up.catalog, object())


def test_check_configured_store_findings():
    up, _, _, _ = _uploads(None)
    ok, message = _configured(up)[0]
    assert ok and '[glance] store is not set' in message
    up, _, _, _ = _uploads(None, store='cheap')
    assert _configured(up) == [
        (True, "[glance] store 'cheap' is a writable Glance store")]
    up, _, _, _ = _uploads(None, store='web')
    (ok, message), = _configured(up)
    assert not ok
    assert "'web' is unusable: it is read-only" in message
    assert 'Valid stores: fast, cheap' in message


def test_check_configured_store_when_glance_cannot_answer():
    error = exception.StoreCatalogUnavailable(reason='HTTP 500: boom')
    up, _, _, _ = _uploads(None, glance=FakeGlance(stores_error=error),
                           store='cheap')
    (ok, message), = _configured(up)
    assert not ok
    assert message.startswith('Cannot read the Glance store list')
    assert 'HTTP 500: boom' in message


def test_images_type_without_a_libvirt_group():
    assert cleanups._images_type(_conf()) is None
    conf = _conf()
    conf.register_opt(cfg.StrOpt('images_type', default='rbd'),
                      group='libvirt')
    assert cleanups._images_type(conf) == 'rbd'


class RefusingPipeline:
    def run(self, request):
        raise exception.StoreNotSelectable(
            image_id=request.image_id, store="'cheap'",
            source='server metadata', allowed='fast')


def test_users_store_refusal_never_falls_back_and_deletes_the_image():
    glance = FakeGlance()
    up = uploads.StoreAwareUploads(
        _conf(policy='default'), glance=glance, pipeline=RefusingPipeline(),
        pending=FakePending())
    with pytest.raises(exception.StoreNotSelectable):
        with up.upload(object(), _instance(), IMAGE):
            pytest.fail('the driver ran although the store was refused')
    assert [image for _, image, _ in glance.discarded] == [IMAGE]


class RecordingCopies:
    def __init__(self):
        self.started = []

    def start(self, image_id, stores, instance=None):
        self.started.append((image_id, tuple(stores)))


def _copying(copy_to):
    target = target_mod.UploadTarget('cheap', 'hook', BASE, copy_to=copy_to,
                                     copy_source='test')
    up, glance, _, _ = _uploads(target)
    up.copies = RecordingCopies()
    return up, glance


def test_copies_start_after_the_upload_with_the_usable_stores_only():
    up, _ = _copying(('fast', 'web', 'nowhere', 'cheap'))
    with up.upload(object(), _instance(), IMAGE) as chosen:
        assert chosen.copy_to == ('fast',)  # read-only, unknown, own: out
        assert up.copies.started == []  # not before the data is in
    assert up.copies.started == [(IMAGE, ('fast',))]


def test_no_copy_after_a_failed_upload():
    up, glance = _copying(('fast',))
    with pytest.raises(RuntimeError):
        with up.upload(object(), _instance(), IMAGE):
            raise RuntimeError('upload failed')
    assert up.copies.started == []
    assert [image for _, image, _ in glance.discarded] == [IMAGE]
