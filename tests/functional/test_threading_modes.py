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

"""nova 34's two concurrency modes, each in a process started as
nova-compute starts: how each is selected, and a retried upload in each.

The concurrent-snapshot load test runs in both modes too (test_load.py).
"""

import pytest

from tests.functional import guest_images as env
from tests.functional import threading_modes


@pytest.mark.parametrize('mode, how', [
    ('threading', 'config'),  # nothing set: nova-compute's default
    ('eventlet', 'config'),   # [DEFAULT] concurrency_backend = eventlet
    ('threading', 'env'),     # OS_NOVA_DISABLE_EVENTLET_PATCHING=true
    ('eventlet', 'env'),      # OS_NOVA_DISABLE_EVENTLET_PATCHING=false
])
def test_how_nova_compute_selects_its_mode(tmp_path, libvirtd, mode, how):
    host = threading_modes.ComputeProcess(str(tmp_path), 'unused', libvirtd)
    report, _ = host.run(mode, threading_modes.select(mode, tmp_path, how),
                         mode_only=True)
    threading_modes.assert_mode(report['mode'], mode)


def test_environment_wins_over_the_config_option(tmp_path, libvirtd):
    host = threading_modes.ComputeProcess(str(tmp_path), 'unused', libvirtd)
    environ, _ = threading_modes.select('threading', tmp_path, 'env')
    conf = threading_modes.write_conf(tmp_path, 'eventlet')
    report, _ = host.run('threading', (environ, [conf]), mode_only=True)
    threading_modes.assert_mode(report['mode'], 'threading')


@pytest.mark.parametrize('mode', ['threading', 'eventlet'])
def test_upload_retried_after_a_503_in_each_mode(glance, proxy, libvirtd,
                                                 tmp_path, mode):
    """The whole image again after a 503, in either mode.

    Under eventlet the request and its wait between attempts stay green
    (the hub's OS thread, a green sleep) and only the disk reads go to
    nova's tpool (see offloaded_reads); the rewind must reach the file
    through the offloaded reader.
    """
    base = env.base_image(glance, ['archive'])
    host = threading_modes.ComputeProcess(
        str(tmp_path), proxy.url, libvirtd,
        overrides=[('glance', 'num_retries', 1)])
    host.define_guest(base['id'])
    proxy.clear()
    proxy.fail_next(1, status=503, method='PUT')
    report, _ = host.run(mode, threading_modes.select(mode, tmp_path))
    threading_modes.assert_mode(report['mode'], mode)
    result, = report['results']
    assert result['error'] is None, result
    env.assert_landed(glance, result['image_id'], 'archive')
    puts = [r for r in proxy.recorded() if r.method == 'PUT']
    assert len(puts) == 2
    assert puts[0].body_size == puts[1].body_size > 0  # from the first byte
    assert all(p.headers['x-image-meta-store'] == 'archive' for p in puts)
    data, content = env.image_raw_content(glance, result['image_id'],
                                          str(tmp_path))
    guest_bytes = host.contents[result['uuid']]
    assert content[:len(guest_bytes)] == guest_bytes
    assert report['reads'] > 0
    assert report['reads_on_main_os_thread'] == 0
    assert report['uploads_on_main_os_thread'] == {
        'threading': 0, 'eventlet': 1}[mode]


@pytest.mark.parametrize('mode', ['threading', 'eventlet'])
def test_copy_to_a_second_store_in_each_mode(glance, libvirtd, tmp_path,
                                             mode):
    """The background copy (a green thread under eventlet) lands."""
    base = env.base_image(glance, ['archive'])
    host = threading_modes.ComputeProcess(
        str(tmp_path), glance.url, libvirtd,
        overrides=[('glance_multistore', 'copy_to_stores', ['cheap'])])
    host.define_guest(base['id'])
    report, _ = host.run(mode, threading_modes.select(mode, tmp_path))
    threading_modes.assert_mode(report['mode'], mode)
    result, = report['results']
    assert result['error'] is None, result
    assert report['copies_settled'] is True
    image = glance.image(result['image_id'])
    assert image['status'] == 'active'
    assert set(image['stores'].split(',')) == {'archive', 'cheap'}, image
