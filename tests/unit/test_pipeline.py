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

"""The hook pipeline: hooks loaded by name through real entry points.

A throw-away distribution (a ``.dist-info`` with ``entry_points.txt`` and a
module) is put on ``sys.path``, so stevedore finds these hooks exactly as
it finds a third-party hook package.
"""

import sys
import textwrap
import types

from oslo_config import cfg
import pytest
from stevedore import extension

from nova_glance_multistore import exception
from nova_glance_multistore.hooks import base
from nova_glance_multistore.hooks import pipeline
from nova_glance_multistore import opts
from nova_glance_multistore import target as target_mod

HOOKS_MODULE = '''
from nova_glance_multistore.hooks import base
from nova_glance_multistore import target


class PinToArchive(base.UploadHook):
    def before_upload(self, request):
        request.seen_by = getattr(request, 'seen_by', []) + ['pin']
        request.target = target.UploadTarget('archive', 'pinned')


class KeepEarlierChoice(base.UploadHook):
    def before_upload(self, request):
        request.seen_by = getattr(request, 'seen_by', []) + ['keep']


class NotAHook:
    def __init__(self, conf):
        pass


class BrokenHook(base.UploadHook):
    def __init__(self, conf):
        raise ValueError('needs [pin] store')

    def before_upload(self, request):
        pass
'''

ENTRY_POINTS = '''
[nova_glance_multistore.upload_hooks]
pin = ngm_unit_hooks:PinToArchive
keep = ngm_unit_hooks:KeepEarlierChoice
not_a_hook = ngm_unit_hooks:NotAHook
broken = ngm_unit_hooks:BrokenHook
no_module = ngm_no_such_module:Hook
'''


@pytest.fixture(scope='module')
def hook_dist(tmp_path_factory):
    root = tmp_path_factory.mktemp('hookdist')
    (root / 'ngm_unit_hooks.py').write_text(HOOKS_MODULE)
    info = root / 'ngm_unit_hooks-1.0.dist-info'
    info.mkdir()
    (info / 'METADATA').write_text(
        'Metadata-Version: 2.1\nName: ngm-unit-hooks\nVersion: 1.0\n')
    (info / 'entry_points.txt').write_text(textwrap.dedent(ENTRY_POINTS))
    sys.path.insert(0, str(root))
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(base.NAMESPACE, None)
    yield root
    sys.path.remove(str(root))
    sys.modules.pop('ngm_unit_hooks', None)
    extension.ExtensionManager.ENTRY_POINT_CACHE.pop(base.NAMESPACE, None)


def _conf(names=None):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    if names is not None:
        conf.set_override('upload_hooks', names, group='glance_multistore')
    return conf


def _request():
    return base.UploadRequest(
        context=None, instance=types.SimpleNamespace(uuid='i'),
        image_id='img', kind='snapshot', base_image_ref=None, stores=None,
        glance=None)


def test_installed_names_include_third_party_hooks(hook_dist):
    names = pipeline.installed_hook_names()
    assert {'multistore', 'pin', 'keep', 'broken'} <= set(names)
    assert names == sorted(names)


@pytest.mark.parametrize('names', [['keep', 'pin'], ['pin', 'keep']])
def test_hooks_run_in_the_configured_order(hook_dist, names):
    hooks = pipeline.UploadHookPipeline(_conf(names))
    assert hooks.names == names
    request = _request()
    target = hooks.run(request)
    assert target == target_mod.UploadTarget('archive', 'pinned')
    assert target.source == 'upload hook pin'  # what errors name
    assert request.target is target
    assert request.seen_by == names


def test_built_in_hook_defers_to_an_earlier_choice(hook_dist):
    hooks = pipeline.UploadHookPipeline(_conf(['pin', 'multistore']))
    assert hooks.run(_request()).store == 'archive'


def test_names_argument_overrides_the_option(hook_dist):
    hooks = pipeline.UploadHookPipeline(_conf(['multistore']), names=['pin'])
    assert hooks.names == ['pin']
    assert hooks.run(_request()).store == 'archive'


def test_no_hook_chooses_nothing(hook_dist):
    assert pipeline.UploadHookPipeline(_conf(['keep'])).run(
        _request()) is None


def test_missing_hook_names_what_is_installed(hook_dist):
    with pytest.raises(exception.UploadHookNotFound) as missing:
        pipeline.UploadHookPipeline(_conf(['multistore', 'zz', 'aa']))
    message = str(missing.value)
    assert 'aa, zz' in message
    assert base.NAMESPACE in message
    assert 'Installed: ' in message and 'multistore' in message


@pytest.mark.parametrize('name, reason', [
    ('broken', 'needs [pin] store'),
    ('no_module', 'ngm_no_such_module'),
    ('not_a_hook', 'is not an UploadHook'),
])
def test_a_hook_that_does_not_load_is_named(hook_dist, name, reason):
    with pytest.raises(exception.UploadHookLoadFailed) as failed:
        pipeline.UploadHookPipeline(_conf(['multistore', name]))
    message = str(failed.value)
    assert 'hook %s ' % name in message
    assert reason in message
