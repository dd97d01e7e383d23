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

"""What an operator installs: the wheel, its entry points, nova loading it."""

import os
import subprocess
import sys
import zipfile

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))


@pytest.fixture(scope='module')
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp('wheel')
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps',
                    '-w', str(out), REPO], check=True,
                   stdout=subprocess.DEVNULL)
    (path,) = out.glob('*.whl')
    return zipfile.ZipFile(path)


def test_wheel_ships_only_the_shim_inside_nova(wheel):
    names = wheel.namelist()
    inside_nova = sorted(n for n in names if n.startswith('nova/'))
    assert inside_nova == ['nova/virt/glance_multistore/__init__.py']
    shim = wheel.read('nova/virt/glance_multistore/__init__.py').decode()
    code = [line for line in shim.splitlines()
            if line.strip() and not line.startswith('#')]
    assert code[0].startswith('from nova_glance_multistore.driver import')


def test_wheel_ships_the_type_marker(wheel):
    # The hook contract is typed (PEP 561): third-party hooks type-check.
    assert 'nova_glance_multistore/py.typed' in wheel.namelist()


def test_wheel_entry_points(wheel):
    (eps,) = [n for n in wheel.namelist() if n.endswith('entry_points.txt')]
    text = wheel.read(eps).decode()
    assert 'nova_glance_multistore = nova_glance_multistore.opts:list_opts' \
        in text
    assert '[nova_glance_multistore.upload_hooks]' in text
    assert 'multistore = nova_glance_multistore.hooks.multistore:' \
        'MultistoreHook' in text
    assert 'nova-glance-multistore = nova_glance_multistore.cli:main' in text


def test_nova_loads_our_driver(compute):
    from nova_glance_multistore import driver
    assert type(compute.driver) is driver.LibvirtDriver


def test_config_generator_documents_every_option():
    done = subprocess.run(
        [os.path.join(os.path.dirname(sys.executable),
                      'oslo-config-generator'),
         '--namespace', 'nova_glance_multistore'],
        capture_output=True, text=True, check=True)
    for expected in ('[glance]', '#store = <None>', '[glance_multistore]',
                     '#upload_hooks = multistore',
                     '#stores_cache_ttl = 60',
                     '#on_unusable_store = refuse'):
        assert expected in done.stdout
