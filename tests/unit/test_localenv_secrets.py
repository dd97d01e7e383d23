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

"""Secrets of the local environment: redacted, off command lines, found
in logs when they leak there."""

import os
import stat
import subprocess
import sys
import uuid

import pytest

from localenv import cloud as cloud_env
from localenv import common
from localenv import mariadb as mariadb_env
from localenv import secret_scan


@pytest.fixture
def secret():
    value = 'planted-%s' % uuid.uuid4().hex
    common.register_secret(value, 'planted secret')
    return value


def test_redact_replaces_known_secrets_and_url_passwords(secret):
    text = ('boom: %s; connection mysql+pymysql://openstack:hunter22@'
            '127.0.0.1:3306/nova; rabbit://u:p4ss@127.0.0.1:5672/' % secret)
    redacted = common.redact(text)
    assert secret not in redacted
    assert 'hunter22' not in redacted and 'p4ss' not in redacted
    assert redacted == ('boom: ***; connection mysql+pymysql://openstack:***@'
                        '127.0.0.1:3306/nova; rabbit://u:***@127.0.0.1:5672/')
    assert common.redact('nothing to hide here') == 'nothing to hide here'
    assert common.redact('x %s y' % 'extra-one', ['extra-one']) == 'x *** y'


def test_short_strings_are_not_taken_for_secrets():
    common.register_secret('abc')
    assert common.redact('abc abcd') == 'abc abcd'


def test_a_secret_on_a_command_line_is_refused(secret):
    with pytest.raises(common.SecretOnCommandLine) as refused:
        common.run(['echo', '--password', secret])
    assert secret not in str(refused.value)
    assert '--password ***' in str(refused.value)
    with pytest.raises(common.SecretOnCommandLine):
        common.popen(['echo', 'mysql://u:pw-x@host/db'])


def test_run_errors_are_redacted(secret):
    with pytest.raises(RuntimeError) as failed:
        common.run(['sh', '-c', 'echo "$X"; echo "$X" >&2; exit 3'],
                   env=dict(os.environ, X=secret))
    assert secret not in str(failed.value)
    assert 'failed (3): ***' in str(failed.value)


def test_cloud_run_errors_are_redacted(tmp_path, secret):
    cloud = cloud_env.Cloud(str(tmp_path), ceph=False)
    cloud.state = {'processes': []}
    with pytest.raises(RuntimeError) as failed:
        cloud.run('sh', '-c', 'echo "$X" >&2; exit 4',
                  env=dict(os.environ, X=secret))
    assert secret not in str(failed.value) and '***' in str(failed.value)


def test_log_tails_in_error_messages_are_redacted(tmp_path, secret):
    log = tmp_path / 'service.log'
    log.write_text('starting\npassword=%s\n' % secret)
    assert secret not in common.tail(str(log))
    assert 'password=***' in common.tail(str(log))


def test_secret_file_is_private_and_removed(secret):
    with common.secret_file(secret) as path:
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
        with open(path) as handle:
            assert handle.read() == secret
    assert not os.path.exists(path)


def test_scan_finds_a_planted_secret_in_logs_only(tmp_path, secret):
    (tmp_path / 'logs').mkdir()
    (tmp_path / 'logs' / 'nova-compute.log').write_text(
        'line one\nline two\nauth with %s failed\n' % secret)
    (tmp_path / 'glance').mkdir()
    (tmp_path / 'glance' / 'glance-api.log.gunicorn').write_text('ok\n')
    # Configuration files hold secrets by design: not logs.
    (tmp_path / 'nova.conf').write_text('password = %s\n' % secret)
    findings = secret_scan.scan_logs([str(tmp_path)],
                                     {'planted secret': secret})
    assert findings == [secret_scan.Finding(
        str(tmp_path / 'logs' / 'nova-compute.log'), 3, 'planted secret')]
    assert secret not in secret_scan.describe(findings)
    assert secret_scan.scan_logs([str(tmp_path)], {'other': 'not-there'}) \
        == []


def test_cloud_log_scan_knows_the_cloud_secrets(tmp_path):
    cloud = cloud_env.Cloud(str(tmp_path), ceph=False)
    os.makedirs(cloud.path('logs'))
    os.makedirs(cloud.path('ceph'))
    with open(cloud.path('ceph', 'client.nova.keyring'), 'w') as handle:
        handle.write('[client.nova]\n\tkey = AQBplantedcephxkey==\n')
    with open(cloud.path('logs', 'neutron-api.log'), 'w') as handle:
        handle.write('connect as openstack:%s\n' % mariadb_env.PASSWORD)
    with open(cloud.path('ceph', 'ceph.log'), 'w') as handle:
        handle.write('key AQBplantedcephxkey== seen\n')
    found = {(os.path.basename(f.where), f.secret)
             for f in cloud.scan_logs_for_secrets()}
    assert found == {('neutron-api.log', 'MariaDB password'),
                     ('ceph.log', 'cephx key in client.nova.keyring (0)')}


def test_scan_finds_a_secret_on_a_command_line_of_ours(secret):
    child = subprocess.Popen([sys.executable, '-c',
                              'import time; time.sleep(60)', secret])
    try:
        assert child.pid in secret_scan.ours(set())
        findings = secret_scan.scan_command_lines(
            secret_scan.ours(set()), {'planted secret': secret})
        assert findings == [secret_scan.Finding('pid %d' % child.pid, None,
                                                'planted secret')]
    finally:
        child.kill()
        child.wait()


def test_session_leaders_count_as_ours():
    child = subprocess.Popen(['sleep', '60'], start_new_session=True)
    try:
        assert child.pid in secret_scan.ours({child.pid}, root=-1)
        assert child.pid not in secret_scan.ours(set(), root=-1)
    finally:
        child.kill()
        child.wait()


def test_keyring_keys(tmp_path):
    (tmp_path / 'client.admin.keyring').write_text(
        '[client.admin]\n\tkey = AQAAAAAA==\n\tcaps mon = "allow *"\n')
    (tmp_path / 'ceph.conf').write_text('key = not-a-keyring\n')
    assert secret_scan.keyring_keys(str(tmp_path)) == {
        'cephx key in client.admin.keyring (0)': 'AQAAAAAA=='}
