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

"""Options: registered on demand, never twice, listed for the generator."""

from oslo_config import cfg

from nova_glance_multistore import opts


def test_register_on_fresh_conf():
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    conf([])
    assert conf.glance.store is None
    assert conf.glance_multistore.upload_hooks == ['multistore']
    assert conf.glance_multistore.stores_cache_ttl == 60
    assert conf.glance_multistore.on_unusable_store == 'refuse'


def test_register_is_idempotent():
    conf = cfg.ConfigOpts()
    opts.register_opts(conf)
    opts.register_opts(conf)


def test_reuses_an_existing_glance_store_option():
    conf = cfg.ConfigOpts()
    theirs = cfg.StrOpt('store', default='theirs', help='nova owns it')
    conf.register_opt(theirs, group='glance')
    opts.register_opts(conf)
    conf([])
    assert conf.glance.store == 'theirs'


def test_nothing_registered_at_import():
    assert 'glance_multistore' not in cfg.CONF


def test_list_opts_are_copies():
    listed = dict((str(group), options) for group, options in
                  opts.list_opts())
    assert [o.name for o in listed['glance']] == ['store']
    assert {o.name for o in listed['glance_multistore']} == {
        'upload_hooks', 'stores_cache_ttl', 'on_unusable_store',
        'rbd_store_locations', 'pending_cleanups_file',
        'pending_cleanups_time_budget', 'pending_cleanups_retry_interval',
        'ceph_native_snapshot', 'copy_on_write_max_chain_depth',
        'user_selectable_stores', 'copy_to_stores', 'copy_wait_timeout'}
    assert listed['glance'][0] is not opts.store_opt


def test_overrides_stay_in_their_own_conf():
    # oslo.config copies a registered OptGroup shallowly: one module-level
    # group object shared its overrides between every ConfigOpts.
    first, second = cfg.ConfigOpts(), cfg.ConfigOpts()
    for conf in (first, second):
        opts.register_opts(conf)
        conf([])
    first.set_override('copy_to_stores', ['cheap'], group='glance_multistore')
    assert second.glance_multistore.copy_to_stores == []
