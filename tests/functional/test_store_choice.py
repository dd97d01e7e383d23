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

"""Where snapshot, backup and shelve images land, from nova's real driver
code snapshotting real QEMU guests into a real multi-store Glance."""

import os

import pytest

from nova_glance_multistore import exception
from tests.functional import guest_images as env


def test_snapshot_goes_to_base_image_store(glance, boot, workdir):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'cheap', guest, workdir)
    assert image_id not in glance.store_files('fast')
    assert guest.state == 'running'


def test_backup_goes_to_base_image_store(glance, boot, workdir):
    base = env.base_image(glance, ['archive'])
    guest = boot(base['id'])
    image_id = guest.snapshot('backup')
    image = env.assert_landed(glance, image_id, 'archive', guest, workdir)
    assert image['image_type'] == 'backup'
    assert guest.state == 'running'


@pytest.mark.parametrize('kind', ['snapshot', 'backup'])
def test_cold_snapshot_of_shut_off_guest(glance, boot, workdir, kind):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'], running=False)
    image_id = guest.snapshot(kind)
    env.assert_landed(glance, image_id, 'cheap', guest, workdir)
    assert guest.state == 'shutoff'


def test_shelve_cold_snapshot_goes_to_base_image_store(
        glance, boot, workdir):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'], running=False)
    image_id = guest.snapshot('shelve')
    image = env.assert_landed(glance, image_id, 'cheap', guest, workdir)
    assert image['name'].endswith('-shelved')
    assert guest.state == 'shutoff'


def test_configured_store_wins_over_base_image_store(
        glance, compute, boot, workdir):
    base = env.base_image(glance, ['cheap'])
    compute.set('glance', 'store', 'archive')
    guest = boot(base['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'archive', guest, workdir)


def test_instance_without_base_image_goes_to_default(glance, boot,
                                                     workdir):
    guest = boot(None)  # volume-backed instances have no image_ref
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'fast', guest, workdir)


def test_base_image_in_default_and_another_store_prefers_default(
        glance, boot):
    base = env.base_image(glance, ['cheap', 'fast'])
    guest = boot(base['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'fast')


def test_base_image_in_two_other_stores_takes_glance_order(glance, boot):
    # Uploaded to archive first: the choice follows /v2/info/stores order
    # (fast, cheap, archive), not the order the image reached its stores.
    base = env.base_image(glance, ['archive', 'cheap'])
    guest = boot(base['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'cheap')


def test_deleted_base_image_goes_to_default(glance, boot):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    assert glance.delete_image(base['id']) == 204
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'fast')


def test_base_image_only_in_read_only_store_goes_to_default(glance, boot,
                                                            web_image):
    assert web_image['stores'] == 'web'
    guest = boot(web_image['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'fast')


@pytest.mark.parametrize('store, reason', [
    ('nowhere', 'it is not enabled in Glance'),
    ('web', 'it is read-only'),
    ('os_glance_staging_store', "reserved for Glance's internal use"),
])
@pytest.mark.parametrize('kind', ['snapshot', 'backup', 'shelve'])
def test_unusable_configured_store_is_refused_and_cleaned_up(
        glance, compute, boot, store, reason, kind):
    base = env.base_image(glance, ['cheap'])
    compute.set('glance', 'store', store)
    running = kind != 'shelve'
    guest = boot(base['id'], running=running)
    before = {i['id'] for i in glance.images()}
    with pytest.raises(exception.StoreRefused) as refused:
        guest.snapshot(kind)
    message = str(refused.value)
    assert "'%s'" % store in message
    assert reason in message
    assert 'Valid stores: fast, cheap, archive' in message
    glance.assert_image_gone(guest.last_image_id)
    assert {i['id'] for i in glance.images()} == before
    assert guest.state == ('running' if running else 'shutoff')


def test_unusable_store_can_fall_back_to_default(glance, compute, boot):
    base = env.base_image(glance, ['cheap'])
    compute.set('glance', 'store', 'nowhere')
    compute.set('glance_multistore', 'on_unusable_store', 'default')
    guest = boot(base['id'])
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'fast')


def test_headers_go_on_the_upload_request_only(glance, proxy, boot):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    proxy.clear()
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'cheap')
    requests = proxy.recorded()
    uploads = [i for i, r in enumerate(requests)
               if r.method == 'PUT' and r.path.endswith(
                   '/v2/images/%s/file' % image_id)]
    assert len(uploads) == 1, requests
    upload = requests[uploads[0]]
    assert upload.headers['x-image-meta-store'] == 'cheap'
    assert upload.headers['x-openstack-base-image-ref'] == base['id']
    assert upload.body_size > 0
    others = requests[:uploads[0]] + requests[uploads[0] + 1:]
    assert others, 'the driver made no other Glance call'
    nxt = requests[uploads[0] + 1]
    assert nxt.path.endswith('/v2/images/%s' % image_id)  # nova's re-read
    for request in others:
        assert 'x-image-meta-store' not in request.headers, request
        assert 'x-openstack-base-image-ref' not in request.headers, request


def test_user_controlled_properties_cannot_steer_the_store(glance, boot):
    # A user owns their image's properties and their instance's metadata;
    # neither is an input of the decision.
    base = env.base_image(glance, ['cheap'])
    status, body = glance.request(
        'PATCH', '/v2/images/%s' % base['id'],
        [{'op': 'add', 'path': '/store', 'value': 'archive'},
         {'op': 'add', 'path': '/x-image-meta-store', 'value': 'archive'}],
        headers={'Content-Type':
                 'application/openstack-images-v2.1-json-patch'})
    assert status == 200, body
    guest = boot(base['id'])
    guest.instance.metadata = {'store': 'archive'}
    guest.instance.system_metadata['image_store'] = 'archive'
    image_id = guest.snapshot('snapshot')
    env.assert_landed(glance, image_id, 'cheap')


def test_base_image_private_to_another_project_goes_to_default(
        glance, compute, boot, monkeypatch):
    """A base image the user cannot see: Glance's default store.

    The other project's image is neither revealed nor touched.
    """
    other = {'X-Project-Id': 'b1' * 16, 'X-Roles': 'member,reader'}
    status, base = glance.request('POST', '/v2/images', dict(
        name='private-base', disk_format='raw', container_format='bare',
        visibility='private'), headers=other)
    assert status == 201, base
    status, _ = glance.request(
        'PUT', '/v2/images/%s/file' % base['id'], os.urandom(4096),
        dict(other, **{'Content-Type': 'application/octet-stream',
                       'x-image-meta-store': 'cheap'}))
    assert status == 204
    guest = boot(base['id'])
    original = compute.context

    def member_context(*args, **kwargs):
        ctxt = original(*args, **kwargs)
        ctxt.auth_token = 'roles:member,reader'  # not admin: no peeking
        return ctxt

    monkeypatch.setattr(compute, 'context', member_context)
    status, _ = glance.request('GET', '/v2/images/%s' % base['id'],
                               token='roles:member,reader')
    assert status == 404
    image_id = guest.snapshot('snapshot')
    monkeypatch.undo()
    env.assert_landed(glance, image_id, 'fast')
    assert glance.image(base['id'])['stores'] == 'cheap'
