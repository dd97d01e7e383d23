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

"""The tempest plugin's pure helpers (no tempest needed) and its wiring."""

import configparser
import io
import os

import pytest

from nova_glance_multistore.tempest_plugin import store_info

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(__file__)))

STORES = [
    {'id': 'fast', 'default': 'true'},
    {'id': 'cheap'},
    {'id': 'web', 'read-only': 'true'},
    {'id': 'archive', 'read-only': False},
]


def test_writable_stores_drop_read_only_and_reserved():
    stores = STORES + [{'id': 'os_glance_staging_store'}]
    assert store_info.writable_stores(stores) == ['fast', 'cheap', 'archive']
    assert store_info.writable_stores(
        [{'id': 'a', 'read-only': True}, {'id': 'b', 'read-only': 'True'}]
    ) == []


def test_default_store():
    assert store_info.default_store(STORES) == 'fast'
    assert store_info.default_store([{'id': 'a', 'default': True}]) == 'a'
    assert store_info.default_store([{'id': 'a'}]) is None


def test_choose_boot_store_first_writable_non_default():
    assert store_info.choose_boot_store(STORES) == 'cheap'
    assert store_info.choose_boot_store(STORES, avoid=('cheap',)) == 'archive'
    # Only the default is left outside ``avoid``: better than nothing.
    assert store_info.choose_boot_store(
        STORES, avoid=('cheap', 'archive')) == 'fast'


def test_choose_boot_store_configured():
    assert store_info.choose_boot_store(STORES, 'archive') == 'archive'
    with pytest.raises(ValueError, match="'nope' is not enabled"):
        store_info.choose_boot_store(STORES, 'nope')
    with pytest.raises(ValueError, match="'web' is read-only"):
        store_info.choose_boot_store(STORES, 'web')


def test_choose_boot_store_none_fits():
    with pytest.raises(ValueError, match='no writable Glance store'):
        store_info.choose_boot_store(
            STORES, avoid=('fast', 'cheap', 'archive'))


def test_check_target_store():
    store_info.check_target_store(STORES, 'archive', 'dedicated_store')
    with pytest.raises(ValueError, match="dedicated_store 'x' is not"):
        store_info.check_target_store(STORES, 'x', 'dedicated_store')
    with pytest.raises(ValueError, match='read-only'):
        store_info.check_target_store(STORES, 'web', 'dedicated_store')


def test_missing_stores():
    assert store_info.missing_stores(STORES, ['web', 'fast']) == []
    assert store_info.missing_stores(STORES, ['rbd', 'fast', 'x']) == [
        'rbd', 'x']


def test_image_stores():
    assert store_info.image_stores({'stores': 'cheap'}) == {'cheap'}
    assert store_info.image_stores({'stores': 'a, b'}) == {'a', 'b'}
    assert store_info.image_stores({}) == set()
    assert store_info.image_stores({'stores': ['a']}) == {'a'}


def test_unfinished_images_are_the_tests_own():
    images = [
        {'id': 'i1', 'status': 'queued'},
        {'id': 'i2', 'status': 'saving', 'instance_uuid': 's1'},
        {'id': 'i3', 'status': 'active', 'instance_uuid': 's1'},
        {'id': 'i4', 'status': 'queued', 'instance_uuid': 'other'},
        {'id': 'i5', 'status': 'killed'},
    ]
    found = store_info.unfinished_images(images, ['i1', 'i3', 'i5'], ['s1'])
    assert [img['id'] for img in found] == ['i1', 'i2']
    assert store_info.unfinished_images(images) == []


def test_rbd_locations():
    locations = [
        {'url': 'file:///x', 'metadata': {'store': 'ceph'}},
        {'url': 'rbd://fsid/images/i/snap', 'metadata': {'store': 'other'}},
        {'url': 'rbd://fsid/pool/i/snap', 'metadata': {'store': 'ceph'}},
        {'url': 'rbd://fsid/pool/i/snap', 'metadata': None},
    ]
    assert store_info.rbd_locations(locations, 'ceph') == [locations[2]]
    assert store_info.rbd_locations(None, 'ceph') == []


def test_entry_point_and_plugin_module_free_of_tempest_at_import():
    parser = configparser.ConfigParser()
    parser.read(os.path.join(ROOT, 'setup.cfg'))
    entry = parser['entry_points']['tempest.test_plugins'].strip()
    assert entry == ('nova-glance-multistore = nova_glance_multistore.'
                     'tempest_plugin.plugin:NovaGlanceMultistoreTempestPlugin')
    # The package itself and the helpers import nothing from tempest, so
    # nova-compute (which never has tempest) is unaffected.
    for name in ('__init__.py', 'store_info.py'):
        with open(os.path.join(ROOT, 'nova_glance_multistore',
                               'tempest_plugin', name)) as f:
            assert 'tempest' not in ''.join(
                line for line in f if line.startswith(('import', 'from')))


def test_plugin_options():
    from nova_glance_multistore.tempest_plugin import plugin

    lists = dict(plugin.NovaGlanceMultistoreTempestPlugin().get_opt_lists())
    assert [o.name for o in lists['nova_glance_multistore']] == [
        'boot_image_store', 'dedicated_store', 'ceph_native',
        'ceph_native_snapshot', 'object_stores', 'cinder_stores',
        'site_stores', 'user_selectable_stores',
        'expected_stores']
    assert [o.name for o in lists['service_available']] == [
        'nova_glance_multistore']


def test_service_client_requests():
    from unittest import mock

    from nova_glance_multistore.tempest_plugin import services

    client = services.ImageStoresClient(mock.Mock(), 'image', 'RegionOne')
    ok = mock.Mock(status=204)
    with mock.patch.object(client, 'request', return_value=(ok, b'')) as req:
        client.store_image_file('IMG', io.BytesIO(b'x' * 70000), 'cheap')
    method, url = req.call_args[0]
    assert (method, url) == ('PUT', 'images/IMG/file')
    kwargs = req.call_args[1]
    assert kwargs['headers']['x-image-meta-store'] == 'cheap'
    assert kwargs['chunked'] is True
    assert b''.join(kwargs['body']) == b'x' * 70000

    body = b'{"stores": [{"id": "fast", "default": "true"}]}'
    with mock.patch.object(client, 'get',
                           return_value=(mock.Mock(status=200), body)) as get:
        assert client.info_stores()['stores'][0]['id'] == 'fast'
        client.info_stores_detail()
    assert [c[0][0] for c in get.call_args_list] == [
        'info/stores', 'info/stores/detail']

    body = b'{"tasks": [{"type": "location_import"}]}'
    with mock.patch.object(client, 'get',
                           return_value=(mock.Mock(status=200), body)) as get:
        tasks = client.show_image_tasks('IMG')['tasks']
    assert tasks == [{'type': 'location_import'}]
    get.assert_called_once_with('images/IMG/tasks')


def test_location_import_tasks_tell_a_registered_clone_from_an_upload():
    """As Glance 33 answered GET /v2/images/{id}/tasks (measured)."""
    url = 'rbd://fsid/snapshots/IMG/snap'
    clone_task = {'type': 'location_import', 'status': 'success',
                  'input': {'image_id': 'IMG', 'loc_url': url,
                            'validation_data': {}}}
    assert store_info.location_import_tasks([clone_task], [url]) == [
        clone_task]
    # A streamed upload into the rbd store: same kind of location, no task.
    assert store_info.location_import_tasks([], [url]) == []
    other = dict(clone_task, input={'loc_url': 'rbd://fsid/images/X/snap'})
    copy = dict(clone_task, type='api_image_import')
    assert store_info.location_import_tasks([other, copy], [url]) == []
    assert store_info.location_import_tasks(None, [url]) == []


def test_rbd_url_parts():
    assert store_info.rbd_url_parts('rbd://f1/images/i1/snap') == {
        'fsid': 'f1', 'pool': 'images', 'image': 'i1', 'snapshot': 'snap'}
    for url in ('rbd://f1/images/i1', 'file:///a/b/c/d', 'rbd://f1//i/s',
                'rbd://f1/p/i/s/extra'):
        with pytest.raises(ValueError, match='not an rbd://'):
            store_info.rbd_url_parts(url)


def test_site_stores():
    assert store_info.site_stores(['site-0:ceph-0', ' edge :ceph-1 ']) == [
        ('site-0', 'ceph-0'), ('edge', 'ceph-1')]
    assert store_info.site_stores([]) == []
    for entries, match in ((['site-0'], 'not "availability-zone:store"'),
                           ([':ceph-0'], 'not "availability-zone'),
                           (['a:'], 'not "availability-zone'),
                           (['a:x', 'a:y'], 'zone .a. twice')):
        with pytest.raises(ValueError, match=match):
            store_info.site_stores(entries)
