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

"""The data upload with store headers, and its retries, with Glance faked.

A retried upload must send the image from its first byte again (nova's
own retry sends what the failed attempt left unread); a body that cannot
be rewound is not retried at all.
"""

import io

import glanceclient.exc
from nova import exception as nova_exception
import pytest

from nova_glance_multistore import image_api
from nova_glance_multistore import target as target_mod

IMAGE = '3c9b4f0e-8d2a-4e71-a3b5-6f1d0c2e9a48'
URL = '/v2/images/%s/file' % IMAGE


class FakeHTTPClient:
    """glanceclient's http_client.put: reads the body, fails as told."""

    def __init__(self, failures):
        self.failures = list(failures)
        self.bodies = []
        self.headers = []

    def put(self, url, headers=None, data=None):
        assert url == URL
        self.headers.append(dict(headers))
        self.bodies.append(data.read())
        if self.failures:
            raise self.failures.pop(0)
        return ('response', 'body')


class FakeWrapper:
    """nova's GlanceClientWrapper: a one-time client per call."""

    api_server = 'http://127.0.0.1:9292'

    def __init__(self, failures=()):
        self.client = None
        self.http = FakeHTTPClient(failures)
        self.created = 0
        self.calls = []

    def _create_onetime_client(self, context, version):
        self.created += 1
        return type('Client', (), {'http_client': self.http})()

    def call(self, context, version, method, *args, **kwargs):
        self.calls.append((method, kwargs.get('args')))
        if method == 'add_image_location':
            raise glanceclient.exc.HTTPForbidden('only the service role')
        return {'id': IMAGE, 'status': 'active'}


@pytest.fixture
def retries():
    conf = image_api.CONF

    def _set(count):
        conf.set_override('num_retries', count, group='glance')
    yield _set
    conf.clear_override('num_retries', group='glance')


@pytest.fixture
def sleeps(monkeypatch):
    calls = []
    monkeypatch.setattr(image_api.time, 'sleep', calls.append)
    return calls


def _service(wrapper, targets=None):
    return image_api.StoreAwareImageService(
        targets or image_api.UploadTargets(), client=wrapper)


def _put(service, data):
    return service._put_with_retries(
        'ctxt', URL, {'x-image-meta-store': 'cheap'}, data)


def test_a_retry_sends_the_image_again_from_its_first_byte(retries, sleeps):
    retries(2)
    wrapper = FakeWrapper([glanceclient.exc.HTTPServiceUnavailable('503'),
                           IOError('connection reset')])
    data = io.BytesIO(b'headerDATA')
    data.read(6)  # the caller hands over a stream positioned at its start
    assert _put(_service(wrapper), data) == ('response', 'body')
    assert wrapper.http.bodies == [b'DATA', b'DATA', b'DATA']
    assert wrapper.created == 3  # a fresh client per attempt, as nova's
    assert sleeps == [1, 1]


def test_a_body_that_cannot_be_rewound_is_not_retried(retries, sleeps):
    retries(3)

    class Stream:
        def __init__(self):
            self.inner = io.BytesIO(b'pipe data')

        def read(self, *args):
            return self.inner.read(*args)

        def seekable(self):
            return False

    wrapper = FakeWrapper([IOError('broken pipe')])
    with pytest.raises(nova_exception.GlanceConnectionFailed) as failed:
        _put(_service(wrapper), Stream())
    assert wrapper.http.bodies == [b'pipe data']
    assert 'broken pipe' in str(failed.value)
    assert sleeps == []


def test_retries_exhausted_is_a_glance_connection_failure(retries, sleeps):
    retries(1)
    wrapper = FakeWrapper([IOError('first'), IOError('second')])
    with pytest.raises(nova_exception.GlanceConnectionFailed) as failed:
        _put(_service(wrapper), io.BytesIO(b'abc'))
    assert len(wrapper.http.bodies) == 2
    assert 'second' in str(failed.value)
    assert '127.0.0.1:9292' in str(failed.value)
    assert sleeps == [1]


def test_an_answer_that_is_not_an_outage_is_not_retried(retries, sleeps):
    retries(3)
    wrapper = FakeWrapper([glanceclient.exc.HTTPOverLimit('413')])
    with pytest.raises(glanceclient.exc.HTTPOverLimit):
        _put(_service(wrapper), io.BytesIO(b'abc'))
    assert len(wrapper.http.bodies) == 1
    assert sleeps == []


def test_tell_of_unseekable_or_broken_streams():
    assert image_api._tell(io.BytesIO(b'x')) == 0

    class BadTell(io.BytesIO):
        def tell(self):
            raise OSError('illegal seek')

    assert image_api._tell(BadTell()) is None
    assert image_api._tell(iter([b'chunk'])) is None


def _disk(tmp_path, data=b'disk'):
    path = tmp_path / 'disk'
    path.write_bytes(data)
    return open(path, 'rb')


def test_upload_with_a_target_carries_the_store_headers_on_the_put(
        retries, tmp_path):
    retries(0)
    targets = image_api.UploadTargets()
    wrapper = FakeWrapper()
    target = target_mod.UploadTarget('cheap', 'test', 'base-id')
    with targets.registered(IMAGE, target), _disk(tmp_path) as disk:
        image = _service(wrapper, targets)._upload_data('ctxt', IMAGE, disk)
    assert image == {'id': IMAGE, 'status': 'active'}
    assert wrapper.http.headers == [{
        'x-image-meta-store': 'cheap',
        'X-OpenStack-Base-Image-Ref': 'base-id',
        'x-openstack-image-size': '4',
        'Content-Type': 'application/octet-stream'}]
    assert wrapper.http.bodies == [b'disk']
    assert wrapper.calls == [('get', (IMAGE,))]


def test_upload_that_would_hang_a_swift_store_sends_no_size(retries, tmp_path):
    retries(0)
    targets = image_api.UploadTargets()
    wrapper = FakeWrapper()
    swift = {'id': 'swift-0', 'type': 'swift', 'properties': {
        'large_object_size': 4, 'large_object_chunk_size': 3}}
    target = target_mod.UploadTarget('swift-0', 'test', None, swift)
    with targets.registered(IMAGE, target), _disk(tmp_path,
                                                  b'12345') as disk:
        _service(wrapper, targets)._upload_data('ctxt', IMAGE, disk)
    assert 'x-openstack-image-size' not in wrapper.http.headers[0]
    assert wrapper.http.bodies == [b'12345']


def test_upload_of_unknown_size_sends_no_size(retries):
    retries(0)
    targets = image_api.UploadTargets()
    wrapper = FakeWrapper()
    with targets.registered(IMAGE, target_mod.UploadTarget('cheap', 't')):
        _service(wrapper, targets)._upload_data('ctxt', IMAGE,
                                                io.BytesIO(b'pipe'))
    assert 'x-openstack-image-size' not in wrapper.http.headers[0]
    assert wrapper.http.bodies == [b'pipe']


def test_upload_without_a_target_is_nova_own_upload():
    wrapper = FakeWrapper()
    data = io.BytesIO(b'disk')
    _service(wrapper)._upload_data('ctxt', IMAGE, data)
    assert wrapper.http.bodies == []
    assert wrapper.calls == [('upload', (IMAGE, data)), ('get', (IMAGE,))]


def test_upload_with_a_storeless_target_is_nova_own_upload():
    targets = image_api.UploadTargets()
    wrapper = FakeWrapper()
    data = io.BytesIO(b'disk')
    with targets.registered(IMAGE, target_mod.UploadTarget(None, 'off')):
        _service(wrapper, targets)._upload_data('ctxt', IMAGE, data)
    assert wrapper.calls[0] == ('upload', (IMAGE, data))


def test_location_glance_refuses_becomes_forbidden():
    wrapper = FakeWrapper()
    with pytest.raises(nova_exception.Forbidden) as refused:
        _service(wrapper)._add_location('ctxt', IMAGE, 'rbd://f/p/i/snap')
    assert IMAGE in str(refused.value)
    assert 'only the service role' in str(refused.value)
    assert wrapper.calls == [('add_image_location',
                              (IMAGE, 'rbd://f/p/i/snap', {}))]


def test_sessions_of_the_image_api_share_the_targets():
    targets = image_api.UploadTargets()
    api = image_api.StoreAwareImageAPI(targets)
    session = api._get_session('ctxt')
    assert isinstance(session, image_api.StoreAwareImageService)
    assert session._targets is targets
    session, image_id = api._get_session_and_image_id('ctxt', IMAGE)
    assert image_id == IMAGE
    assert session._targets is targets


def test_targets_are_kept_per_image_and_removed_after_use():
    targets = image_api.UploadTargets()
    one = target_mod.UploadTarget('cheap', 'a')
    two = target_mod.UploadTarget('fast', 'b')
    with targets.registered('one', one):
        with targets.registered('two', two):
            assert (targets.get('one'), targets.get('two')) == (one, two)
            assert len(targets) == 2
        assert targets.get('two') is None
    assert len(targets) == 0


def test_discard_results_are_an_enum_that_reads_as_before():
    from nova_glance_multistore import glance_client
    results = glance_client.GlanceFacts
    assert isinstance(results.DELETED, glance_client.DiscardResult)
    assert {r.value for r in glance_client.DiscardResult} == {
        'deleted', 'kept', 'failed', 'refused'}
    assert results.REFUSED == 'refused'  # logs and the pending file
