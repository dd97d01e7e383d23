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

"""The operator CLI prints its findings only; ``--debug`` shows the rest.

Run as the installed console script against the real Glance, with a
nova.conf as a compute host has it (its own log file, debug on, and even
the deprecated eventlet mode selected for nova-compute).
"""

import os
import shutil
import subprocess
import sys

import pytest

from tests.functional import guest_images as env

# What must never reach an operator's terminal without --debug.
NOISE = ('eventlet', 'Eventlet', 'oslo_service', 'Loading backend',
         ' INFO ', ' DEBUG ', ' WARNING ', ' ERROR ', 'Traceback',
         'Deprecat')


def _cli():
    script = shutil.which('nova-glance-multistore',
                          path=os.path.dirname(sys.executable))
    assert script, 'console script nova-glance-multistore is not installed'
    return [script]


@pytest.fixture
def compute_host_conf(tmp_path, glance):
    """A nova.conf of a compute host that still runs nova with eventlet."""
    def _write(endpoint=None, store='cheap'):
        path = tmp_path / 'nova.conf'
        path.write_text('\n'.join([
            '[DEFAULT]', 'debug = True',
            'log_file = %s' % (tmp_path / 'nova-compute.log'),
            'concurrency_backend = eventlet',
            '[glance]', 'endpoint_override = %s' % (endpoint or glance.url),
            'num_retries = 0', 'store = %s' % store, '']))
        return str(path)
    return _write


def run(conf, *args, debug=False):
    environ = dict(os.environ, OS_NOVA_DISABLE_EVENTLET_PATCHING='0')
    command = _cli() + ['--config-file', conf] + (
        ['--debug'] if debug else []) + list(args)
    done = subprocess.run(command, capture_output=True, text=True,
                          timeout=600, env=environ, cwd=os.path.dirname(conf))
    return done.returncode, done.stdout, done.stderr


def _assert_quiet(out, err):
    assert err == '', 'the CLI printed more than its findings:\n' + err
    for word in NOISE:
        assert word not in out, (word, out)


@pytest.mark.parametrize('args, first', [
    (['check'], 'OK   Glance answers'),
    (['stores'], '+--'),
    (['stores', '--detail'], '+--'),
])
def test_only_findings_without_debug(compute_host_conf, tmp_path, args,
                                     first):
    code, out, err = run(compute_host_conf(), *args)
    assert code == 0, out + err
    assert out.startswith(first), out
    _assert_quiet(out, err)
    assert not (tmp_path / 'nova-compute.log').exists()


def test_explain_is_quiet(compute_host_conf, glance):
    base = env.base_image(glance, ['archive'])
    code, out, err = run(compute_host_conf(store=''), 'explain', '--image',
                         base['id'])
    assert code == 0, out + err
    assert out.splitlines()[0] == 'store:  archive'
    _assert_quiet(out, err)


def test_glance_down_is_one_finding_not_a_traceback(compute_host_conf):
    code, out, err = run(compute_host_conf('http://127.0.0.1:9'), 'check')
    assert code == 1
    assert out.startswith('FAIL Glance cannot be reached'), out
    _assert_quiet(out, err)


def test_debug_shows_the_libraries_log_lines(compute_host_conf, tmp_path):
    quiet_code, quiet_out, _ = run(compute_host_conf(), 'check')
    code, out, err = run(compute_host_conf(), 'check', debug=True)
    assert (code, out) == (quiet_code, quiet_out)  # same findings
    assert ' DEBUG keystoneauth.session ' in err, err
    assert '-X GET http' in err and '/v2/info/stores' in err
    # Native threading mode even for --debug: eventlet was never imported.
    assert 'eventlet' not in err.lower(), err
    assert not (tmp_path / 'nova-compute.log').exists()
