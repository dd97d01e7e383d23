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

"""Faults injected into real services during a snapshot.

After each: the image is gone or active in the right store (never left
queued or saving), the guest is in its original power state, and the
error says what happened.
"""

import copy

from nova import exception as nova_exception
import pytest

from tests.functional import guest_images as env


def test_only_a_404_proves_an_image_gone(glance, proxy):
    """The "no image left" check of every test fails on a 500 or a 401."""
    image = glance.create_image('soon-gone')
    assert glance.delete_image(image['id']) == 204
    through_proxy = copy.copy(glance)
    through_proxy.port = int(proxy.url.rsplit(':', 1)[1])
    for status in (500, 401):
        proxy.fail_next(1, status=status, method='GET')
        with pytest.raises(AssertionError, match='answered %d' % status):
            through_proxy.assert_image_gone(image['id'])
    assert proxy.faults_injected == 2
    through_proxy.assert_image_gone(image['id'])  # Glance's own 404
    assert through_proxy.image_status(image['id']) == 404
    kept = glance.create_image('still-here', b'x' * 512)  # deleted after
    with pytest.raises(AssertionError, match='answered 200'):
        glance.assert_image_gone(kept['id'])


def test_glance_restarted_without_the_store_after_validation(
        glance, boot):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    without_cheap = [s for s in glance.stores if s.id != 'cheap']
    stores = glance.stores

    def drop_store(state):
        if state == 'image_pending_upload' and glance.stores is stores:
            glance.restart(stores=without_cheap)

    try:
        with pytest.raises(nova_exception.ImageBadRequest) as failed:
            guest.snapshot('snapshot', on_task_state=drop_store)
        assert 'cheap' in str(failed.value)
        glance.assert_image_gone(guest.last_image_id)
        assert guest.state == 'running'
    finally:
        glance.restart(stores=stores)


def uploads_of(proxy, image_id):
    """The PUTs of the image's data the proxy saw, in order."""
    return [r for r in proxy.recorded() if r.method == 'PUT' and
            r.path.endswith('/v2/images/%s/file' % image_id)]


@pytest.mark.parametrize('kind', ['snapshot', 'shelve'])
def test_glance_503_is_retried_per_num_retries(
        glance, proxy, compute, boot, workdir, kind):
    base = env.base_image(glance, ['cheap'])
    running = kind != 'shelve'
    guest = boot(base['id'], running=running)
    compute.set('glance', 'num_retries', 2)
    try:
        proxy.fail_next(2, status=503, method='PUT')
        image_id = guest.snapshot(kind)
    finally:
        compute.set('glance', 'num_retries', 0)
    assert proxy.pending_faults() == 0
    assert proxy.faults_injected == 2
    image = env.assert_landed(glance, image_id, 'cheap', guest, workdir)
    # Each attempt sent the whole file again, from its first byte.
    uploads = uploads_of(proxy, image_id)
    assert [(r.fault, r.status) for r in uploads] == [
        (503, 503), (503, 503), (None, 204)], uploads
    assert [r.body_size for r in uploads] == [image['size']] * 3, uploads
    assert guest.state == ('running' if running else 'shutoff')


@pytest.mark.parametrize('kind', ['snapshot', 'shelve'])
def test_glance_503_beyond_num_retries_is_a_clear_error(
        glance, proxy, compute, boot, kind):
    base = env.base_image(glance, ['cheap'])
    running = kind != 'shelve'
    guest = boot(base['id'], running=running)
    compute.set('glance', 'num_retries', 1)
    try:
        proxy.fail_next(2, status=503, method='PUT')
        with pytest.raises(nova_exception.GlanceConnectionFailed) as failed:
            guest.snapshot(kind)
    finally:
        compute.set('glance', 'num_retries', 0)
    assert proxy.pending_faults() == 0
    assert proxy.faults_injected == 2
    assert [r.fault for r in uploads_of(proxy, guest.last_image_id)] == [
        503, 503]
    assert '503' in str(failed.value), failed.value
    glance.assert_image_gone(guest.last_image_id)
    assert guest.state == ('running' if running else 'shutoff')


def test_guest_vanishing_during_snapshot(glance, libvirtd, boot):
    import subprocess
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])

    gone = []

    def vanish(state):
        if state == 'image_pending_upload' and not gone:
            gone.append(state)
            subprocess.run(['virsh', '-c', libvirtd.uri, 'destroy',
                            guest.instance.name], check=True,
                           capture_output=True, timeout=30)
            subprocess.run(['virsh', '-c', libvirtd.uri, 'undefine',
                            guest.instance.name], check=True,
                           capture_output=True, timeout=30)

    # Gone before the live snapshot: libvirt says "no domain", nova says
    # InstanceNotFound.
    with pytest.raises(nova_exception.InstanceNotFound) as failed:
        guest.snapshot('snapshot', on_task_state=vanish)
    assert guest.instance.uuid in str(failed.value)
    glance.assert_image_gone(guest.last_image_id)
    assert guest.state == 'missing'


def snapshot_with_glance_killed(glance, proxy, compute, guest):
    """glance-api SIGKILLed as the upload starts; back afterwards.

    :returns: the queued image the failed snapshot left, which nova-compute
        could not delete while Glance was down.
    """
    killed = []

    def kill_glance(state):
        if state == 'image_uploading' and not killed:
            killed.append(state)
            glance.kill()

    try:
        with pytest.raises(nova_exception.GlanceConnectionFailed):
            guest.snapshot('snapshot', on_task_state=kill_glance)
        orphan = guest.last_image_id
        assert compute.driver._store_aware_uploads.pending_discards() == [
            orphan]
    finally:
        glance.start()
    # The fault met a request: Glance refused it, and no upload landed.
    assert [r for r in proxy.recorded() if r.refused], proxy.recorded()
    assert not [r for r in uploads_of(proxy, orphan) if r.status], \
        proxy.recorded()
    assert glance.image(orphan)['status'] == 'queued'  # Glance was down
    return orphan


def test_glance_killed_during_upload_leaves_no_orphan_once_back(
        glance, proxy, compute, boot, workdir):
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    orphan = snapshot_with_glance_killed(glance, proxy, compute, guest)
    uploads = compute.driver._store_aware_uploads
    assert guest.state == 'running'
    # The next upload of this host first deletes what the outage left.
    env.assert_landed(glance, guest.snapshot('snapshot'), 'cheap', guest,
                      workdir)
    glance.assert_image_gone(orphan)
    assert uploads.pending_discards() == []


def test_glance_refusing_connections_is_retried_until_it_is_back(
        glance, proxy, compute, boot, workdir):
    """glance-api refusing connections when the data goes up.

    It is back a few seconds later: nova's retries (``[glance]
    num_retries``) carry the upload from the first byte into the right
    store.
    """
    import threading
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    restarted = []

    def glance_down_for_a_while(state):
        if state == 'image_uploading' and not restarted:
            glance.kill()
            timer = threading.Timer(2, glance.start)
            restarted.append(timer)
            timer.start()

    compute.set('glance', 'num_retries', 30)
    try:
        image_id = guest.snapshot('snapshot',
                                  on_task_state=glance_down_for_a_while)
    finally:
        compute.set('glance', 'num_retries', 0)
        for timer in restarted:
            timer.join()
    assert restarted, 'the fault was never injected'
    image = env.assert_landed(glance, image_id, 'cheap', guest, workdir)
    # Refused at least once, then the whole file from its first byte.
    assert [r for r in proxy.recorded() if r.refused], proxy.recorded()
    uploads = uploads_of(proxy, image_id)
    assert uploads[-1].status == 204, uploads
    assert [r.body_size for r in uploads] == [image['size']] * len(
        uploads), uploads
    assert guest.state == 'running'


def test_orphan_of_a_glance_outage_is_deleted_after_a_compute_restart(
        glance, proxy, compute, boot):
    """The pending deletion is on disk.

    A nova-compute restarted while Glance was down deletes the orphan at
    start-up, with its service credentials (the requester's context is
    gone).
    """
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    orphan = snapshot_with_glance_killed(glance, proxy, compute, guest)
    compute.start()  # a new nova-compute process: init_host
    glance.assert_image_gone(orphan)
    assert compute.driver._store_aware_uploads.pending_discards() == []
    assert guest.state == 'running'
