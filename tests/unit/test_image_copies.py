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

"""The background copy's branches, with Glance's answers scripted.

The functional tests copy for real (test_store_policy,
ceph_native/test_rbd_guest_snapshot, test_threading_modes); here the
answers a real Glance gives rarely or only under load (409 while a
location task runs, a deleted image, a copy that never settles) are
reached on purpose.
"""

import logging

import glanceclient.exc
from oslo_config import cfg
import pytest

from nova_glance_multistore import glance_client
from nova_glance_multistore import image_copies
from nova_glance_multistore import opts

IMAGE = '2c7e3b1a-9d4f-4e8a-b6c5-1f0a9e8d7c6b'


class ScriptedGlance:
    """Image records to answer in turn, and copy-image answers."""

    def __init__(self, records, copy_answers=()):
        self.records = list(records)
        self.copy_answers = list(copy_answers)
        self.copies = []

    def image(self, context, image_id):
        record = self.records[0]
        if len(self.records) > 1:
            self.records.pop(0)
        return record

    def copy_image(self, context, image_id, stores):
        self.copies.append(list(stores))
        if self.copy_answers:
            answer = self.copy_answers.pop(0)
            if answer is not None:
                raise answer


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture(autouse=True)
def _service_context(monkeypatch):
    monkeypatch.setattr(glance_client, 'service_context', lambda conf: 'ctx')


def _copies(glance, timeout=30):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    conf.set_override('copy_wait_timeout', timeout, group='glance_multistore')
    clock = Clock()
    return image_copies.ImageCopies(conf, glance, clock=clock,
                                    sleep=clock.sleep)


def _image(status='active', stores='cheap', failed=''):
    return {'id': IMAGE, 'status': status, 'stores': stores,
            'os_glance_failed_import': failed}


def test_waits_for_active_then_copies_and_settles(caplog):
    glance = ScriptedGlance([_image('queued', ''), _image(),
                             _image(stores='cheap'),
                             _image(stores='cheap,archive')])
    with caplog.at_level(logging.INFO):
        assert _copies(glance).copy(IMAGE, ['archive']) is True
    assert glance.copies == [['archive']]
    assert 'is copied to Glance store(s) archive' in caplog.text


def test_asks_again_while_glance_holds_the_import_lock():
    conflict = glanceclient.exc.HTTPConflict('Image has active task')
    glance = ScriptedGlance([_image(), _image(stores='cheap,archive')],
                            copy_answers=[conflict, conflict, None])
    assert _copies(glance).copy(IMAGE, ['archive']) is True
    assert glance.copies == [['archive']] * 3


def test_gives_up_on_a_lock_held_past_the_deadline(caplog):
    conflict = glanceclient.exc.HTTPConflict('Image has active task')
    glance = ScriptedGlance([_image()], copy_answers=[conflict] * 100)
    with caplog.at_level(logging.ERROR):
        assert _copies(glance, timeout=5).copy(IMAGE, ['archive']) is False
    assert 'was not copied' in caplog.text and IMAGE in caplog.text


def test_refused_by_policy_names_the_policy(caplog):
    glance = ScriptedGlance([_image()], copy_answers=[
        glanceclient.exc.HTTPForbidden('copy_image')])
    with caplog.at_level(logging.ERROR):
        assert _copies(glance).copy(IMAGE, ['archive']) is False
    assert 'Glance refused to copy image %s' % IMAGE in caplog.text
    assert 'copy_image policy' in caplog.text


def test_failed_store_is_reported(caplog):
    glance = ScriptedGlance([_image(), _image(failed='archive')])
    with caplog.at_level(logging.ERROR):
        assert _copies(glance).copy(IMAGE, ['archive']) is False
    assert 'to Glance store(s) archive failed' in caplog.text


@pytest.mark.parametrize('record, says', [
    (None, 'it is gone'), (_image('killed', ''), 'it is killed'),
    (_image('queued', ''), 'it is queued')])
def test_image_that_never_turns_active_is_not_copied(caplog, record, says):
    glance = ScriptedGlance([record])
    with caplog.at_level(logging.ERROR):
        assert _copies(glance, timeout=3).copy(IMAGE, ['archive']) is False
    assert glance.copies == []
    assert says in caplog.text


def test_image_deleted_while_copying_is_a_warning(caplog):
    glance = ScriptedGlance([_image(), None])
    with caplog.at_level(logging.WARNING):
        assert _copies(glance).copy(IMAGE, ['archive']) is False
    assert 'was deleted before its copy' in caplog.text


def test_copy_still_running_at_the_deadline_is_a_warning(caplog):
    glance = ScriptedGlance([_image()])
    with caplog.at_level(logging.WARNING):
        assert _copies(glance, timeout=3).copy(IMAGE, ['archive']) is False
    assert 'still running after 3 s' in caplog.text


def test_start_without_stores_starts_nothing():
    assert _copies(ScriptedGlance([_image()])).start(IMAGE, []) is None
