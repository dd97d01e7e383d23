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

"""nova-compute's start-up check of [glance] store, in its real log."""

import logging


def test_init_host_logs_error_for_unusable_store(compute, caplog):
    compute.set('glance', 'store', 'nowhere')
    with caplog.at_level(logging.INFO, logger='nova_glance_multistore'):
        compute.start()
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and
              r.name.startswith('nova_glance_multistore')]
    assert len(errors) == 1, caplog.text
    message = errors[0].getMessage()
    assert "'nowhere'" in message and 'not enabled in Glance' in message
    assert 'fast, cheap, archive' in message


def test_init_host_logs_info_for_usable_store(compute, caplog):
    compute.set('glance', 'store', 'archive')
    with caplog.at_level(logging.INFO, logger='nova_glance_multistore'):
        compute.start()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and
                r.name.startswith('nova_glance_multistore')]
    assert "[glance] store 'archive' is a writable Glance store" in \
        caplog.text
