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

"""Who may choose a snapshot's store, and copies to more stores: nova's
real driver snapshotting real QEMU guests into a real multi-store Glance.

The stores (conftest): fast (Glance's default), cheap (where the base
images are), archive, web (read-only). A test that expects ``archive``
can only pass when the source under test chose it.
"""

import logging
import os
import time

import pytest

from nova_glance_multistore import exception
from nova_glance_multistore import store_policy
from tests.functional import guest_images as env
from tests.functional import test_cli

KEY = store_policy.SNAPSHOT_STORE_KEY
COPY_KEY = store_policy.COPY_TO_STORES_KEY
GROUP = 'glance_multistore'


def _guest(boot, glance, kind='snapshot', metadata=None, extra_specs=None,
           base=None):
    base = base or env.base_image(glance, ['cheap'])
    guest = boot(base['id'], running=kind != 'shelve')
    guest.instance.metadata = dict(metadata or {})
    guest.instance.flavor.extra_specs = dict(extra_specs or {})
    return guest


def _choice_line(caplog, image_id):
    lines = [r.getMessage() for r in caplog.records
             if image_id in r.getMessage() and 'goes to Glance store' in
             r.getMessage()]
    assert len(lines) == 1, lines
    return lines[0]


def _assert_refused_and_gone(glance, guest, error):
    image_id = guest.last_image_id
    assert image_id in str(error)
    glance.assert_image_gone(image_id)
    for store in env.WRITABLE:
        assert image_id not in glance.store_files(store)
    assert guest.state == 'running'  # never paused, never read


@pytest.mark.parametrize('kind', ['snapshot', 'backup', 'shelve'])
def test_users_allowed_choice_wins(glance, compute, boot, workdir, caplog,
                                   kind):
    compute.set(GROUP, 'user_selectable_stores', ['archive'])
    compute.set('glance', 'store', 'fast')
    guest = _guest(boot, glance, kind, metadata={KEY: 'archive'},
                   extra_specs={KEY: 'fast'})
    with caplog.at_level(logging.INFO):
        image_id = guest.snapshot(kind)
    env.assert_landed(glance, image_id, 'archive', guest, workdir)
    assert "the user's choice (server metadata %s)" % KEY in _choice_line(
        caplog, image_id)


@pytest.mark.parametrize('configured, specs, expected, source', [
    ('fast', {KEY: 'archive'}, 'archive', 'flavor tiny extra spec ' + KEY),
    (None, {KEY: 'archive'}, 'archive', 'flavor tiny extra spec ' + KEY),
    ('archive', {}, 'archive', 'configured [glance] store'),
    (None, {KEY: '  '}, 'cheap', 'store of base image'),
], ids=['flavor-over-configured', 'flavor-over-base-image', 'configured',
        'blank-spec-is-unset'])
def test_operator_choices_in_order(glance, compute, boot, caplog,
                                   configured, specs, expected, source):
    compute.set('glance', 'store', configured)
    guest = _guest(boot, glance, extra_specs=specs)
    with caplog.at_level(logging.INFO):
        image_id = guest.snapshot()
    env.assert_landed(glance, image_id, expected)
    assert source in _choice_line(caplog, image_id)


@pytest.mark.parametrize('allowed, policy', [
    (['archive'], 'refuse'), (['archive'], 'default'), ([], 'refuse')],
    ids=['outside-the-list', 'no-fallback-for-users', 'users-may-not-choose'])
def test_users_choice_outside_the_list_is_refused(glance, compute, boot,
                                                  allowed, policy):
    compute.set(GROUP, 'user_selectable_stores', allowed)
    compute.set(GROUP, 'on_unusable_store', policy)
    guest = _guest(boot, glance, metadata={KEY: 'fast'})
    with pytest.raises(exception.StoreNotSelectable) as refused:
        guest.snapshot()
    message = str(refused.value)
    assert "store 'fast' (chosen by server metadata %s)" % KEY in message
    assert ('Stores users may choose: archive.' in message if allowed else
            'user_selectable_stores is empty' in message)
    _assert_refused_and_gone(glance, guest, refused.value)


def test_unusable_flavor_store_is_refused_naming_the_flavor(glance, boot):
    guest = _guest(boot, glance, extra_specs={KEY: 'web'})
    with pytest.raises(exception.StoreRefused) as refused:
        guest.snapshot()
    message = str(refused.value)
    assert '(chosen by flavor tiny extra spec %s): it is read-only' % KEY \
        in message
    _assert_refused_and_gone(glance, guest, refused.value)


def test_user_controlled_image_properties_never_steer(glance, compute, boot,
                                                      caplog):
    compute.set(GROUP, 'user_selectable_stores', ['archive'])
    base = glance.create_image('steering', os.urandom(4096), store='cheap',
                               **{KEY: 'archive', 'snapshot_store': 'archive'})
    guest = _guest(boot, glance, base=base)
    # nova copies the base image's properties into system metadata, and
    # from there into the image nova-api queues for the snapshot.
    for name in (KEY, 'snapshot_store'):
        guest.instance.system_metadata['image_' + name] = 'archive'
    with caplog.at_level(logging.INFO):
        image_id = guest.snapshot()
    image = env.assert_landed(glance, image_id, 'cheap')
    assert image[KEY] == 'archive'  # the attempt reached the snapshot
    assert 'store of base image %s' % base['id'] in _choice_line(
        caplog, image_id)


# -- copies to more stores ------------------------------------------------

def _wait_for_stores(glance, image_id, stores, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        image = glance.image(image_id)
        held = set(image['stores'].split(','))
        if held == set(stores) or time.monotonic() > deadline:
            return image
        time.sleep(0.2)


def _copies(compute):
    return compute.driver._store_aware_uploads.copies


def _file_bytes(glance, store, image_id):
    with open(os.path.join(glance.datadir(store), image_id), 'rb') as f:
        return f.read()


@pytest.mark.parametrize('kind', ['snapshot', 'shelve'])
def test_flavor_copy_lands_in_second_store(glance, compute, boot, workdir,
                                           kind):
    compute.set(GROUP, 'copy_to_stores', ['fast'])  # the flavor replaces it
    guest = _guest(boot, glance, kind, extra_specs={COPY_KEY: 'archive'})
    image_id = guest.snapshot(kind)
    image = _wait_for_stores(glance, image_id, ['cheap', 'archive'])
    assert image['status'] == 'active'
    assert set(image['stores'].split(',')) == {'cheap', 'archive'}
    assert image_id not in glance.store_files('fast')
    env.assert_guest_bytes(glance, image_id, guest, workdir)
    assert _file_bytes(glance, 'archive', image_id) == _file_bytes(
        glance, 'cheap', image_id)
    assert _copies(compute).wait(60)


def test_option_copy_skips_unusable_stores_with_an_error(
        glance, compute, boot, caplog):
    compute.set(GROUP, 'copy_to_stores', ['nowhere', 'web', 'archive'])
    guest = _guest(boot, glance)
    with caplog.at_level(logging.INFO):
        image_id = guest.snapshot('backup')
        image = _wait_for_stores(glance, image_id, ['cheap', 'archive'])
        assert _copies(compute).wait(60)
    assert set(image['stores'].split(',')) == {'cheap', 'archive'}
    errors = [r.getMessage() for r in caplog.records
              if r.levelno == logging.ERROR and image_id in r.getMessage()]
    assert len(errors) == 2, errors
    assert "store 'nowhere'" in errors[0] and 'not enabled' in errors[0]
    assert "store 'web'" in errors[1] and 'read-only' in errors[1]
    assert 'copy_to_stores' in errors[0]


@pytest.fixture
def broken_archive(glance):
    """The archive store's directory replaced by a file: writes fail."""
    path = glance.datadir('archive')
    aside = path + '.aside'
    os.rename(path, aside)
    with open(path, 'w') as handle:
        handle.write('not a directory\n')
    try:
        yield
    finally:
        os.unlink(path)
        os.rename(aside, path)


def test_failed_copy_leaves_the_snapshot_active_and_shows_in_cli(
        glance, compute, boot, workdir, caplog, broken_archive, tmp_path):
    guest = _guest(boot, glance, extra_specs={COPY_KEY: 'archive'})
    with caplog.at_level(logging.INFO):
        image_id = guest.snapshot()
        assert _copies(compute).wait(60)
    image = glance.image(image_id)
    assert image['status'] == 'active' and image['stores'] == 'cheap'
    assert image['os_glance_failed_import'] == 'archive'
    env.assert_guest_bytes(glance, image_id, guest, workdir)
    assert any(r.levelno == logging.ERROR and image_id in r.getMessage() and
               'failed' in r.getMessage() for r in caplog.records)
    conf = tmp_path / 'nova.conf'
    conf.write_text('[glance]\nendpoint_override = %s\n' % glance.url)
    code, out, err = test_cli.run(str(conf), 'image', image_id)
    assert code == 1, out + err
    assert 'stores:' in out and 'copy failed:' in out
    fields = dict(line.split(':', 1) for line in out.splitlines())
    assert fields['stores'].strip() == 'cheap'
    assert fields['copy failed'].strip() == 'archive'
    assert fields['copying to'].strip() == 'none'


@pytest.fixture(scope='module')
def copy_forbidden_glance(tmp_path_factory, real_glance):
    """A Glance whose copy_image policy refuses everyone."""
    from localenv import glance as glance_env

    workdir = str(tmp_path_factory.mktemp('copy-forbidden'))
    policy = os.path.join(workdir, 'policy.yaml')
    with open(policy, 'w') as handle:
        handle.write('"copy_image": "!"\n')
    server = glance_env.GlanceServer(
        os.path.join(workdir, 'glance'),
        extra_conf={'oslo_policy': {'policy_file': policy}})
    server.start()
    yield server
    server.stop()


def test_copy_refused_by_glance_policy_is_logged_snapshot_fine(
        compute, libvirtd, copy_forbidden_glance, caplog):
    glance = copy_forbidden_glance
    base = glance.create_image('base', os.urandom(4096), store='cheap')
    with env.compute_on_glance(compute, glance):
        guest = env.Guest(compute, libvirtd, base['id'])
        guest.instance.flavor.extra_specs = {COPY_KEY: 'archive'}
        try:
            with caplog.at_level(logging.INFO):
                image_id = guest.snapshot()
                assert _copies(compute).wait(60)
        finally:
            libvirtd.remove_guest(guest.instance.name)
    image = glance.image(image_id)
    assert image['status'] == 'active' and image['stores'] == 'cheap'
    refused = [r.getMessage() for r in caplog.records
               if r.levelno == logging.ERROR and image_id in r.getMessage()]
    assert len(refused) == 1, refused
    assert 'Glance refused to copy image' in refused[0]
    assert 'copy_image policy' in refused[0]
    glance.delete_image(image_id)
    glance.delete_image(base['id'])


def test_cli_check_validates_the_store_lists(glance, tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[glance]\nendpoint_override = %s\n'
                    '[glance_multistore]\nuser_selectable_stores = archive\n'
                    'copy_to_stores = cheap,web\n' % glance.url)
    code, out, err = test_cli.run(str(conf), 'check')
    assert code == 1, out + err
    assert ("OK   [glance_multistore] user_selectable_stores: 'archive' is "
            'a writable Glance store') in out
    assert "OK   [glance_multistore] copy_to_stores: 'cheap'" in out
    assert ("FAIL [glance_multistore] copy_to_stores: 'web' is unusable: it "
            'is read-only') in out
