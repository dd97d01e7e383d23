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

"""Glance restarted without multi-store: nova's behaviour, or a refusal."""

import pytest

from nova_glance_multistore import exception
from tests.functional import guest_images as env


@pytest.fixture
def single_store_glance(glance, compute):
    glance.restart(multistore=False)
    yield glance
    glance.restart(multistore=True)


def test_without_configured_store_uploads_as_nova_does(
        single_store_glance, proxy, boot, workdir):
    glance = single_store_glance
    status, body = glance.request('GET', '/v2/info/stores')
    assert status == 404
    base = glance.create_image('base-single', b'x' * 4096)
    guest = boot(base['id'])
    proxy.clear()
    image_id = guest.snapshot('snapshot')
    image = glance.image(image_id)
    assert image['status'] == 'active'
    assert image_id in glance.store_files('fast')  # the single file store
    data, content = env.image_raw_content(glance, image_id, workdir)
    assert image['size'] == len(data) > 0
    assert content[:len(guest.content)] == guest.content
    assert not content[len(guest.content):].strip(b'\0')
    upload = [r for r in proxy.recorded() if r.method == 'PUT']
    assert len(upload) == 1
    assert 'x-image-meta-store' not in upload[0].headers
    assert 'x-openstack-base-image-ref' not in upload[0].headers


@pytest.mark.parametrize('kind', ['snapshot', 'shelve'])
def test_with_configured_store_is_refused(single_store_glance, compute,
                                          boot, kind):
    glance = single_store_glance
    compute.set('glance', 'store', 'cheap')
    guest = boot(None, running=kind != 'shelve')
    with pytest.raises(exception.StoreRefused) as refused:
        guest.snapshot(kind)
    assert 'multi-store is not enabled in Glance' in str(refused.value)
    assert "'cheap'" in str(refused.value)
    glance.assert_image_gone(guest.last_image_id)
