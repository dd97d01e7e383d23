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

"""Who may name a snapshot's store, in which order, and its copies."""

import types

from oslo_config import cfg
import pytest

from nova_glance_multistore import exception
from nova_glance_multistore import opts
from nova_glance_multistore import store_policy
from nova_glance_multistore.stores import StoreList

KEY = store_policy.SNAPSHOT_STORE_KEY
COPY_KEY = store_policy.COPY_TO_STORES_KEY
STORES = StoreList.from_api({'stores': [
    {'id': 'fast', 'default': 'true'}, {'id': 'cheap'},
    {'id': 'web', 'read-only': 'true'}]})


def _conf(**group):
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    for name, value in group.items():
        if name == 'store':
            conf.set_override('store', value, group='glance')
        else:
            conf.set_override(name, value, group='glance_multistore')
    return conf


def _instance(metadata=None, extra_specs=None, system_metadata=None):
    return types.SimpleNamespace(
        uuid='i-1', metadata=metadata or {},
        system_metadata=system_metadata or {},
        flavor=types.SimpleNamespace(name='m1.edge',
                                     extra_specs=extra_specs or {}))


def _requested(conf, instance):
    return store_policy.requested_store(conf, instance, 'img-1')


def test_nobody_asked():
    assert _requested(_conf(), _instance()) is None


def test_configured_store():
    request = _requested(_conf(store='cheap'), _instance())
    assert request == store_policy.StoreRequest(
        'cheap', 'configured [glance] store')


def test_flavor_wins_over_configured_store():
    request = _requested(_conf(store='cheap'),
                         _instance(extra_specs={KEY: 'fast'}))
    assert request.store == 'fast'
    assert request.source == 'flavor m1.edge extra spec %s' % KEY


def test_allowed_user_choice_wins_over_flavor_and_configured_store():
    conf = _conf(store='cheap', user_selectable_stores=['web', 'fast'])
    request = _requested(conf, _instance(metadata={KEY: 'fast'},
                                         extra_specs={KEY: 'cheap'}))
    assert request.store == 'fast'
    assert 'server metadata' in request.source


def test_user_choice_outside_the_list_is_refused_and_names_the_list():
    conf = _conf(store='cheap', user_selectable_stores=['fast'])
    with pytest.raises(exception.StoreNotSelectable) as raised:
        _requested(conf, _instance(metadata={KEY: 'cheap'}))
    message = str(raised.value)
    assert "'cheap'" in message and 'server metadata %s' % KEY in message
    assert 'Stores users may choose: fast.' in message
    assert isinstance(raised.value, exception.StoreRefused)


def test_user_choice_is_refused_when_users_may_not_choose():
    with pytest.raises(exception.StoreNotSelectable) as raised:
        _requested(_conf(), _instance(metadata={KEY: 'fast'}))
    assert 'user_selectable_stores is empty' in str(raised.value)


def test_unsafe_user_choice_is_refused_printably():
    conf = _conf(user_selectable_stores=['fast'])
    with pytest.raises(exception.StoreNotSelectable) as raised:
        _requested(conf, _instance(metadata={KEY: 'fast\r\nX-Evil: 1'}))
    assert '\r\n' not in str(raised.value)


@pytest.mark.parametrize('blank', ['', '   '])
def test_blank_values_name_no_store(blank):
    conf = _conf(store='cheap')
    request = _requested(conf, _instance(metadata={KEY: blank},
                                         extra_specs={KEY: blank}))
    assert request.store == 'cheap'


def test_image_properties_never_steer():
    # nova copies the base image's properties into system metadata as
    # image_<key>; users control those.
    instance = _instance(system_metadata={'image_' + KEY: 'web',
                                          KEY: 'web'})
    assert _requested(_conf(), instance) is None


def test_copy_stores_from_the_option():
    conf = _conf(copy_to_stores=['cheap', 'web', 'cheap'])
    assert store_policy.copy_stores(conf, _instance()) == (
        ['cheap', 'web'], '[glance_multistore] copy_to_stores')


def test_flavor_copy_stores_replace_the_option():
    conf = _conf(copy_to_stores=['cheap'])
    stores, source = store_policy.copy_stores(
        conf, _instance(extra_specs={COPY_KEY: ' fast , ,web'}))
    assert stores == ['fast', 'web']
    assert source == 'flavor m1.edge extra spec %s' % COPY_KEY


def test_empty_flavor_copy_stores_mean_no_copies():
    conf = _conf(copy_to_stores=['cheap'])
    assert store_policy.copy_stores(
        conf, _instance(extra_specs={COPY_KEY: ''}))[0] == []


def test_option_findings_validate_both_lists():
    conf = _conf(user_selectable_stores=['fast', 'web'],
                 copy_to_stores=['nowhere'])
    findings = store_policy.option_findings(conf, STORES)
    assert [ok for ok, _ in findings] == [True, False, False]
    assert 'read-only' in findings[1][1]
    assert 'copy_to_stores' in findings[2][1]
    assert 'not enabled in Glance' in findings[2][1]
