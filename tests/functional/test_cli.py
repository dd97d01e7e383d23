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

"""The operator CLI, run as a command against the real Glance."""

import os
import subprocess
import sys

import pytest

from tests.functional import guest_images as env

CLI = [sys.executable, '-m', 'nova_glance_multistore.cli']


@pytest.fixture
def nova_conf(tmp_path, glance):
    def _write(store=None, hooks=None, **multistore):
        lines = ['[glance]', 'endpoint_override = %s' % glance.url]
        if store:
            lines.append('store = %s' % store)
        if hooks:
            multistore['upload_hooks'] = hooks
        if multistore:
            lines.append('[glance_multistore]')
            lines += ['%s = %s' % item for item in sorted(multistore.items())]
        path = tmp_path / 'nova.conf'
        path.write_text('\n'.join(lines) + '\n')
        return str(path)
    return _write


def run(conf, *args):
    done = subprocess.run(CLI + ['--config-file', conf] + list(args),
                          capture_output=True, text=True, timeout=600,
                          cwd=os.path.dirname(__file__))
    return done.returncode, done.stdout, done.stderr


def test_stores_table(nova_conf):
    code, out, err = run(nova_conf(), 'stores')
    assert code == 0, err
    lines = [line for line in out.splitlines() if line.startswith('| ')]
    assert [line.split('|')[1].strip() for line in lines] == [
        'id'] + env.STORE_ORDER
    assert 'yes' in lines[1]  # fast is the default


def test_stores_detail(nova_conf):
    code, out, err = run(nova_conf(), 'stores', '--detail')
    assert code == 0, err
    assert 'http' in out and 'file' in out and 'data_dir' in out


def test_check_passes(nova_conf):
    code, out, err = run(nova_conf(store='archive'), 'check')
    assert code == 0, out + err
    assert all(line.startswith('OK') for line in out.splitlines()), out
    assert "store 'archive' is a writable" in out


@pytest.mark.parametrize('store, reason', [
    ('nowhere', 'not enabled in Glance'), ('web', 'read-only'),
    ('os_glance_tasks_store', 'reserved')])
def test_check_fails_on_unusable_store(nova_conf, store, reason):
    code, out, err = run(nova_conf(store=store), 'check')
    assert code == 1
    fails = [line for line in out.splitlines()
             if line.startswith('FAIL')]
    assert len(fails) == 1 and reason in fails[0], out


def test_check_fails_on_missing_hook(nova_conf):
    code, out, err = run(nova_conf(hooks='multistore,nope'), 'check')
    assert code == 1
    assert 'nope' in out


def test_check_fails_when_glance_is_down(tmp_path):
    conf = tmp_path / 'nova.conf'
    conf.write_text('[glance]\nendpoint_override = http://127.0.0.1:9\n'
                    'num_retries = 0\n')
    code, out, err = run(str(conf), 'check')
    assert code == 1
    assert 'FAIL Glance cannot be reached' in out


def test_explain(nova_conf, glance):
    base = env.base_image(glance, ['archive'])
    code, out, err = run(nova_conf(), 'explain', '--image', base['id'])
    assert code == 0, err
    assert 'store:  archive' in out
    assert base['id'] in out
    code, out, err = run(nova_conf(store='cheap'), 'explain', '--image',
                         base['id'])
    assert code == 0, err
    assert 'store:  cheap' in out and 'configured' in out
    code, out, err = run(nova_conf(store='web'), 'explain', '--image',
                         base['id'])
    assert code == 1 and 'read-only' in out


@pytest.fixture(scope='module')
def catalog_keystone(tmp_path_factory, glance, real_keystone):
    """A real Keystone whose catalog is the only way to find Glance."""
    from localenv import keystone as keystone_env
    server = keystone_env.KeystoneServer(
        str(tmp_path_factory.mktemp('catalog-keystone'))).start()
    server.user('nova', 'service', ['service', 'admin'])
    server.endpoint('image', 'glance', glance.url)
    yield server
    server.stop()


def test_check_finds_glance_through_the_keystone_catalog(
        tmp_path, catalog_keystone):
    """As devstack deploys it: no [glance] endpoint, only the catalog.

    The check authenticates as nova's service user; its context must carry
    the catalog for nova's Glance client to find the image endpoint.
    """
    conf = tmp_path / 'nova.conf'
    conf.write_text('\n'.join([
        '[glance]', 'store = cheap',
        '[service_user]', 'auth_type = password',
        'auth_url = %s' % catalog_keystone.url, 'username = nova',
        'password = %s' % catalog_keystone.passwords['nova'],
        'project_name = service', 'user_domain_id = default',
        'project_domain_id = default', '']))
    code, out, err = run(str(conf), 'check')
    assert code == 0, out + err
    assert "store 'cheap' is a writable" in out
