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

"""The devstack functions of localenv/devstack_shim.sh, as the plugin uses
them: files they edit must read back the same through oslo.config.
"""

import os
import subprocess

from oslo_config import cfg

SHIM = os.path.join(os.path.dirname(__file__), '..', '..', 'localenv',
                    'devstack_shim.sh')


def shim(script, **env):
    done = subprocess.run(
        ['bash', '-c', 'set -o errexit\nsource "$SHIM"\n' + script],
        env=dict(os.environ, SHIM=SHIM, **env), capture_output=True,
        text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


def oslo_sections(path):
    sections = {}
    cfg.ConfigParser(str(path), sections).parse()
    return sections


def test_iniset_adds_replaces_and_keeps_other_lines(tmp_path):
    conf = tmp_path / 'a.conf'
    conf.write_text('# keep me\n[DEFAULT]\ndebug = true\n\n'
                    '[glance_store]\nstores = file\nstores = http\n')
    shim('iniset "$F" DEFAULT debug false\n'
         'iniset "$F" DEFAULT enabled_backends "fast:file, cheap:file"\n'
         'iniset "$F" glance_store stores rbd\n'
         'iniset "$F" fast filesystem_store_datadir "/a b/&c\\\\d|e"\n',
         F=str(conf))
    text = conf.read_text()
    assert text.startswith('# keep me\n[DEFAULT]\n')
    assert oslo_sections(conf) == {
        'DEFAULT': {'debug': ['false'],
                    'enabled_backends': ['fast:file, cheap:file']},
        'glance_store': {'stores': ['rbd']},
        'fast': {'filesystem_store_datadir': ['/a b/&c\\d|e']},
    }


def test_iniget_and_inicomment(tmp_path):
    conf = tmp_path / 'n.conf'
    conf.write_text('[glance]\nstore = archive\n[libvirt]\n'
                    'images_type = rbd\n')
    out = shim('iniget "$F" libvirt images_type\n'
               'inicomment "$F" glance store\n'
               'echo "[$(iniget "$F" glance store)]"\n', F=str(conf))
    assert out.splitlines() == ['rbd', '[]']
    assert oslo_sections(conf)['glance'] == {}
    assert '#store = archive' in conf.read_text()


def test_services_plugins_and_booleans():
    out = shim('enable_service tempest\n'
               'is_service_enabled glance && echo glance\n'
               'is_service_enabled nova && echo nova\n'
               'is_service_enabled cinder || echo no-cinder\n'
               'is_plugin_enabled devstack-plugin-ceph || echo no-ceph\n'
               'is_service_enabled tempest && echo tempest\n'
               'X=yes; trueorfalse False X; trueorfalse True UNSET\n',
               ENABLED_SERVICES='g-api,n-cpu',
               DEVSTACK_PLUGINS='nova-glance-multistore')
    assert out.split() == ['glance', 'nova', 'no-cinder', 'no-ceph',
                           'tempest', 'True', 'True']
