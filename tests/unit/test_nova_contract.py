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

"""The nova internals we rely on are where nova_contract says they are."""

import os
import subprocess
import sys
import textwrap

from nova.compute import task_states
from nova import exception as nova_exception
from nova.image import glance
from nova.objects import instance_action
import pytest

from nova_glance_multistore import contract_check
from nova_glance_multistore import nova_contract as contract

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
UPLOAD_DATA = 'nova.image.glance.GlanceImageServiceV2._upload_data'
SERVICE = 'nova_glance_multistore.image_api.StoreAwareImageService'


def _listed(*paths):
    """The entries of these paths: what moves here, and nothing else."""
    found = [i for i in contract.INTERNALS if i.path in paths]
    assert len(found) == len(paths), paths
    return found


def test_installed_nova_keeps_the_contract():
    problems = contract_check.check()
    assert problems == [], 'nova moved:\n' + '\n'.join(problems)


@pytest.mark.parametrize('internal', contract.INTERNALS,
                         ids=[i.path for i in contract.INTERNALS])
def test_each_path_resolves(internal):
    path = internal.path
    if internal.kind == contract.INSTANCE_ATTRIBUTE:
        path = path.rpartition('.')[0]  # its class; check() reads its source
    error = None
    try:
        contract_check.resolve(path)
    except LookupError as e:
        error = e
    if error is not None:
        pytest.fail('%s does not resolve: %s' % (path, error), pytrace=False)
    problems = contract_check.check([internal])
    assert problems == [], '\n'.join(problems)


def test_importing_the_contract_and_its_check_imports_no_nova():
    code = ('import sys; import nova_glance_multistore.contract_check; '
            "print(sorted(m for m in sys.modules if m.split('.')[0] == "
            "'nova'))")
    out = subprocess.run([sys.executable, '-c', code], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    assert out.strip() == '[]'


def test_entries_are_well_formed():
    paths = [i.path for i in contract.INTERNALS]
    assert len(paths) == len(set(paths)), 'listed twice'
    for internal in contract.INTERNALS:
        assert internal.kind in contract.KINDS, internal
        assert internal.why, internal
        if internal.kind not in contract.CALLABLE_KINDS + (
                contract.EXCEPTION,):
            assert internal.params is None, internal
        # used_by names our own code, and it is there.
        for user in internal.used_by.split(', '):
            assert user.startswith('nova_glance_multistore'), internal
            contract_check.resolve(user)


def test_a_method_gone_is_named(monkeypatch):
    monkeypatch.delattr(glance.GlanceImageServiceV2, '_upload_data',
                        raising=False)
    assert contract_check.check(_listed(UPLOAD_DATA)) == [
        '%s is gone (nova.image.glance.GlanceImageServiceV2 has no '
        '_upload_data) (used by %s)' % (UPLOAD_DATA, SERVICE)]


def test_a_changed_signature_is_named(monkeypatch):
    def _upload_data(self, context, image_id, data, extra=None):
        pass

    monkeypatch.setattr(glance.GlanceImageServiceV2, '_upload_data',
                        _upload_data, raising=False)
    assert contract_check.check(_listed(UPLOAD_DATA)) == [
        '%s signature changed: expected (self, context, image_id, data), '
        'nova has (self, context, image_id, data, extra) (used by %s)' % (
            UPLOAD_DATA, SERVICE)]


def test_a_classmethod_made_a_method_is_named(monkeypatch):
    def event_start(cls, context, instance_uuid, event_name, want_result=True,
                    host=None):
        pass

    monkeypatch.setattr(instance_action.InstanceActionEvent, 'event_start',
                        event_start)
    problems = contract_check.check(_listed(
        'nova.objects.instance_action.InstanceActionEvent.event_start'))
    assert len(problems) == 1, problems
    assert problems[0].startswith(
        'nova.objects.instance_action.InstanceActionEvent.event_start is no '
        'longer a classmethod (used by nova_glance_multistore.')


def test_a_constant_and_a_message_argument_moved_are_named(monkeypatch):
    monkeypatch.delattr(task_states, 'SHELVING_IMAGE_UPLOADING')
    monkeypatch.setattr(nova_exception.ImageUnacceptable, 'msg_fmt',
                        'Image %(image)s is unacceptable: %(reason)s')
    problems = contract_check.check(_listed(
        'nova.compute.task_states.SHELVING_IMAGE_UPLOADING',
        'nova.exception.ImageUnacceptable'))
    assert len(problems) == 2, problems
    assert problems[0].startswith(
        'nova.compute.task_states.SHELVING_IMAGE_UPLOADING is gone')
    assert problems[1].startswith(
        'nova.exception.ImageUnacceptable message arguments changed: '
        'expected (image_id, reason), nova has (image, reason)')


def test_a_call_nova_no_longer_makes_is_named(monkeypatch):
    def _update_v2(self, context, sent_service_image_meta, data=None):
        return self._upload_image_data(context, 'id', data)

    monkeypatch.setattr(glance.GlanceImageServiceV2, '_update_v2',
                        _update_v2)
    problems = contract_check.check(_listed(
        'nova.image.glance.GlanceImageServiceV2._update_v2'))
    assert [p.partition(' (used by')[0] for p in problems] == [
        "nova.image.glance.GlanceImageServiceV2._update_v2 no longer "
        "contains 'self._add_location('",
        "nova.image.glance.GlanceImageServiceV2._update_v2 no longer "
        "contains 'self._upload_data('"]


FAKE_NOVA = '''
class Driver:
    def __init__(self):
        self.backend = None  # was image_backend

    def snapshot(self, context):
        return self.backend.by_name(context)

    @classmethod
    def event(cls, context):
        pass
'''


@pytest.fixture
def fake_nova(tmp_path, monkeypatch):
    """A module with real source, for the checks that read source."""
    (tmp_path / 'ngm_fake_nova.py').write_text(textwrap.dedent(FAKE_NOVA))
    (tmp_path / 'ngm_fake_broken.py').write_text('import ngm_not_there\n')
    monkeypatch.syspath_prepend(str(tmp_path))
    yield 'ngm_fake_nova.'
    for name in ('ngm_fake_nova', 'ngm_fake_broken'):
        sys.modules.pop(name, None)


def test_fake_nova_moves_are_each_named(fake_nova):
    Internal = contract.Internal
    internals = [
        Internal(fake_nova + 'Driver.image_backend',
                 contract.INSTANCE_ATTRIBUTE, None, 'us.a', 'wrapped'),
        Internal(fake_nova + 'Driver.backend', contract.INSTANCE_ATTRIBUTE,
                 None, 'us.b', 'read'),
        Internal(fake_nova + 'Driver.snapshot', contract.METHOD,
                 ('self', 'context'), 'us.c', 'calls our wrapper',
                 ('.by_libvirt_path(',)),
        Internal(fake_nova + 'Driver.event', contract.CLASSMETHOD,
                 ('cls', 'context'), 'us.d', 'called'),
        Internal(fake_nova + 'Driver.event', contract.METHOD, None, 'us.e',
                 'overridden'),
        Internal(fake_nova + 'Gone.method', contract.METHOD, None, 'us.f',
                 'called'),
        Internal('ngm_fake_gone.Driver', contract.CLASS, None, 'us.g',
                 'subclassed'),
        Internal('ngm_fake_broken.Driver', contract.CLASS, None, 'us.h',
                 'subclassed'),
    ]
    assert contract_check.check(internals) == [
        'ngm_fake_nova.Driver.image_backend is gone (no self.image_backend '
        '= in ngm_fake_nova.Driver) (used by us.a)',
        "ngm_fake_nova.Driver.snapshot no longer contains "
        "'.by_libvirt_path(' (used by us.c)",
        'ngm_fake_nova.Driver.event is now a classmethod (used by us.e)',
        'ngm_fake_nova.Gone.method is gone (ngm_fake_nova has no Gone) '
        '(used by us.f)',
        'ngm_fake_gone.Driver is gone (no module ngm_fake_gone) '
        '(used by us.g)',
        "ngm_fake_broken.Driver cannot be checked: ModuleNotFoundError: No "
        "module named 'ngm_not_there' (used by us.h)",
    ]
