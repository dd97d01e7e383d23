#!/bin/bash
# devstack plugin for nova-glance-multistore.

function install_nova_glance_multistore {
    # A regular (not editable) install: nova imports compute drivers only
    # from its own nova/virt/ directory, where the wheel puts our shim.
    pip_install "$NGM_DIR"
}

function configure_nova_glance_multistore {
    iniset "$NOVA_CONF" DEFAULT compute_driver glance_multistore.LibvirtDriver
    iniset "$NOVA_CONF" glance_multistore upload_hooks "$NGM_UPLOAD_HOOKS"
    iniset "$NOVA_CONF" glance_multistore stores_cache_ttl \
        "$NGM_STORES_CACHE_TTL"
    iniset "$NOVA_CONF" glance_multistore on_unusable_store \
        "$NGM_ON_UNUSABLE_STORE"
    if [[ -n "$NGM_SNAPSHOT_STORE" ]]; then
        iniset "$NOVA_CONF" glance store "$NGM_SNAPSHOT_STORE"
    fi
}

if is_service_enabled nova-glance-multistore; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing nova-glance-multistore"
        install_nova_glance_multistore
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring nova-glance-multistore"
        configure_nova_glance_multistore
    fi
    if [[ "$1" == "unstack" || "$1" == "clean" ]]; then
        # Nothing runs on its own: nova-compute loads the plugin.
        :
    fi
fi
