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

"""With DEBUG logging, a user's token never appears in logs or errors;
the local environment's own secrets never appear on a command line."""

import base64
import os
import subprocess
import uuid

import pytest

from localenv import common
from localenv import keystone as keystone_env
from localenv import libvirt as libvirt_env
from localenv import mariadb as mariadb_env
from localenv import secret_scan
from nova_glance_multistore import exception
from tests.functional import guest_images as env


def test_token_not_logged_on_success_or_refusal(
        glance, compute, boot, caplog):
    secret = 'tok-%s' % uuid.uuid4().hex
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    logfile = os.path.join(compute.workdir, 'nova-compute.log')
    offset = os.path.getsize(logfile) if os.path.exists(logfile) else 0
    original = compute.context

    def context(*args, **kwargs):
        ctxt = original(*args, **kwargs)
        ctxt.auth_token = secret
        return ctxt

    compute.context = context
    try:
        with env.debug_logging(caplog, 'keystoneauth',
                               'keystoneauth.session', 'glanceclient',
                               'nova', 'nova_glance_multistore', 'urllib3'):
            image_id = guest.snapshot('snapshot')
            compute.set('glance', 'store', 'nowhere')
            with pytest.raises(exception.StoreRefused) as refused:
                guest.snapshot('snapshot')
    finally:
        compute.context = original
    env.assert_landed(glance, image_id, 'cheap')
    assert secret not in str(refused.value)
    # Request headers are logged (redacted): the check can see a leak.
    assert 'x-auth-token' in caplog.text.lower()
    assert secret not in caplog.text
    with open(logfile, errors='replace') as handle:
        handle.seek(offset)
        assert secret not in handle.read()


@pytest.fixture
def command_lines(monkeypatch):
    """Every command line started (through subprocess) during the test."""
    seen = []

    class Recording(subprocess.Popen):
        def __init__(self, args, *more, **kwargs):
            seen.append([str(arg) for arg in (
                [args] if isinstance(args, (str, bytes)) else args)])
            super().__init__(args, *more, **kwargs)

    monkeypatch.setattr(subprocess, 'Popen', Recording)
    return seen


def _leaks(command_lines, secret):
    return [argv for argv in command_lines if secret in ' '.join(argv)]


def test_cephx_key_reaches_libvirt_by_file_only(libvirtd, command_lines):
    key = base64.b64encode(os.urandom(16)).decode()
    secret_uuid = str(uuid.uuid4())
    libvirt_env.define_ceph_secret(libvirtd.uri, secret_uuid,
                                   'client.t%s secret' % secret_uuid[:8], key)
    try:
        stored = subprocess.run(
            ['virsh', '-c', libvirtd.uri, 'secret-get-value', secret_uuid],
            capture_output=True, text=True, check=True, timeout=30)
        assert stored.stdout.strip() == key
        assert any('secret-set-value' in argv for argv in command_lines)
        assert _leaks(command_lines, key) == []
    finally:
        subprocess.run(['virsh', '-c', libvirtd.uri, 'secret-undefine',
                        secret_uuid], capture_output=True, timeout=30)


def test_keystone_bootstrap_password_not_on_command_line(
        tmp_path, command_lines):
    server = keystone_env.KeystoneServer(str(tmp_path / 'keystone'))
    server.start()
    try:
        # The password took: the admin can log in with it.
        token, _ = server.token('admin', 'admin')
        assert token
        assert any('bootstrap' in argv for argv in command_lines)
        assert _leaks(command_lines, keystone_env.ADMIN_PASSWORD) == []
        secrets = {'admin password': keystone_env.ADMIN_PASSWORD}
        assert secret_scan.scan_command_lines(
            secret_scan.ours({server.process.pid}), secrets) == []
        assert secret_scan.scan_logs([str(tmp_path)], secrets) == []
    finally:
        server.stop()


def test_mariadb_password_not_on_command_line(tmp_path, command_lines):
    reason = mariadb_env.missing_reason()
    if reason:
        pytest.skip(reason)
    db = mariadb_env.MariaDB(str(tmp_path / 'mariadb')).start()
    try:
        db.create_databases('ngm_probe')
        assert _leaks(command_lines, mariadb_env.PASSWORD) == []
        # The password took: the services' user logs in over TCP with it
        # (from a 0600 option file, as the client's --defaults-extra-file).
        with common.secret_file('[client]\npassword=%s\n' %
                                mariadb_env.PASSWORD) as options:
            done = common.run(
                [mariadb_env.CLIENT, '--defaults-extra-file=%s' % options,
                 '--protocol=tcp', '--host=127.0.0.1',
                 '--port=%d' % db.port, '--user=%s' % mariadb_env.USER,
                 '--batch', '--skip-column-names', '-e', 'SHOW DATABASES'])
        assert 'ngm_probe' in done.stdout.split()
        with pytest.raises(RuntimeError) as failed:
            db.sql("SELECT '%s' FROM no_such_table" % mariadb_env.PASSWORD)
        assert mariadb_env.PASSWORD not in str(failed.value)
        assert '***' in str(failed.value)
    finally:
        db.stop()
