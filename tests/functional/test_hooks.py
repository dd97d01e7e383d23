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

"""A third-party hook, from a separately installed distribution, loaded by
name from [glance_multistore] upload_hooks with no code change here."""

import os
import subprocess
import sys

import pytest
from stevedore import extension

from nova_glance_multistore import exception
from nova_glance_multistore.hooks import base
from nova_glance_multistore.hooks import pipeline
from tests.functional import guest_images as env

HOOKDIST = os.path.join(os.path.dirname(__file__), 'hookdist')


@pytest.fixture(scope='module')
def installed_hookdist(tmp_path_factory):
    target = str(tmp_path_factory.mktemp('site'))
    subprocess.run([sys.executable, '-m', 'pip', 'install', '-q',
                    '--no-deps', '--target', target,
                    HOOKDIST], check=True)
    sys.path.insert(0, target)
    # stevedore caches a namespace's entry points for the life of the
    # process; nova-compute is restarted after a package is installed,
    # which this stands for.
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(base.NAMESPACE, None)
    yield target
    sys.path.remove(target)
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(base.NAMESPACE, None)


@pytest.fixture
def driver_with_hooks(compute, installed_hookdist):
    def _load(names):
        compute.set('glance_multistore', 'upload_hooks', names)
        return compute.start()
    yield _load
    compute.set('glance_multistore', 'upload_hooks', ['multistore'])
    compute.start()


def test_hook_names_come_from_installed_distributions(installed_hookdist):
    names = pipeline.installed_hook_names()
    assert {'multistore', 'pin_to_archive', 'pin_to_reserved'} <= set(names)


def test_third_party_hook_steers_backups(glance, boot, driver_with_hooks):
    driver_with_hooks(['pin_to_archive', 'multistore'])
    base = env.base_image(glance, ['cheap'])
    guest = boot(base['id'])
    env.assert_landed(glance, guest.snapshot('backup'), 'archive')
    env.assert_landed(glance, guest.snapshot('snapshot'), 'cheap')


def test_a_hook_choice_is_still_validated(glance, boot, driver_with_hooks):
    driver_with_hooks(['pin_to_reserved'])
    guest = boot(env.base_image(glance, ['cheap'])['id'])
    with pytest.raises(exception.StoreRefused) as refused:
        guest.snapshot('snapshot')
    assert 'reserved' in str(refused.value)
    glance.assert_image_gone(guest.last_image_id)


def test_unknown_hook_name_stops_the_driver(compute, driver_with_hooks):
    with pytest.raises(exception.UploadHookNotFound) as missing:
        driver_with_hooks(['multistore', 'no_such_hook'])
    assert 'no_such_hook' in str(missing.value)
    assert 'multistore' in str(missing.value)  # lists what is installed


def test_no_hook_means_glance_default_store(glance, boot, driver_with_hooks):
    driver_with_hooks([])
    guest = boot(env.base_image(glance, ['cheap'])['id'])
    env.assert_landed(glance, guest.snapshot('snapshot'), 'fast')
