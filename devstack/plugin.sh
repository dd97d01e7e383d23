#!/bin/bash
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

# devstack plugin for nova-glance-multistore.
#
# Also run, unchanged, by localenv/cloud.py (under localenv/devstack_shim.sh)
# so that the local all-in-one cloud is configured exactly as devstack is.

# Save trace setting
_XTRACE_NGM=$(set +o | grep xtrace)
set +o xtrace

# This plugin's devstack directory (its helper scripts).
_NGM_DEVSTACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# A comma list as words.
function _ngm_words {
    echo "${1//,/ }"
}

# The rbd stores are configured only on top of devstack-plugin-ceph, which
# provides the cluster, the cephx user and ceph.conf.
function _ngm_rbd_enabled {
    is_plugin_enabled devstack-plugin-ceph && [[ -n "$NGM_GLANCE_RBD_STORES" ]]
}

# Every store id Glance should list, in enabled_backends order.
function _ngm_store_ids {
    local ids entry
    ids=$(_ngm_words "$NGM_GLANCE_FILE_STORES")
    if _ngm_rbd_enabled; then
        for entry in $(_ngm_words "$NGM_GLANCE_RBD_STORES"); do
            ids+=" ${entry%%:*}"
        done
    fi
    if is_plugin_enabled devstack-plugin-ceph; then
        ids+=" $(_ngm_words "$NGM_GLANCE_S3_STORES")"
    fi
    ids+=" $(_ngm_words "$NGM_GLANCE_SWIFT_STORES")"
    ids+=" $(_ngm_cinder_store_ids)"
    if [[ -n "$NGM_GLANCE_HTTP_STORE" ]]; then
        ids+=" $NGM_GLANCE_HTTP_STORE"
    fi
    echo $ids
}

# The s3 and swift store ids, comma-separated.
function _ngm_object_store_ids {
    local ids=""
    if is_plugin_enabled devstack-plugin-ceph; then
        ids=$NGM_GLANCE_S3_STORES
    fi
    if [[ -n "$NGM_GLANCE_SWIFT_STORES" ]]; then
        ids+="${ids:+,}$NGM_GLANCE_SWIFT_STORES"
    fi
    echo "$ids"
}

# The cinder store ids (words), when Cinder is enabled.
function _ngm_cinder_store_ids {
    local entry
    if is_service_enabled cinder; then
        for entry in $(_ngm_words "$NGM_GLANCE_CINDER_STORES"); do
            echo "${entry%%:*}"
        done
    fi
}

# A snapshot takes the ceph-native path only from an rbd-backed guest into
# an rbd store of the same cluster.
function _ngm_ceph_native {
    if _ngm_rbd_enabled && \
        [[ "$(iniget $NOVA_CONF libvirt images_type)" == "rbd" ]]; then
        echo True
    else
        echo False
    fi
}

# An NGM_GLANCE_RBD_STORES entry is id:pool or id:pool:ceph.conf (a store
# on another cluster than devstack-plugin-ceph's, e.g. another site's).
function _ngm_rbd_pool {
    local rest=${1#*:}
    echo "${rest%%:*}"
}

function _ngm_rbd_conf {
    local rest=${1#*:}
    if [[ "$rest" == *:* ]]; then
        echo "${rest#*:}"
    else
        echo "$CEPH_CONF_FILE"
    fi
}

# The ceph.conf of every rbd store, each once.
function _ngm_rbd_confs {
    local entry
    for entry in $(_ngm_words "$NGM_GLANCE_RBD_STORES"); do
        _ngm_rbd_conf "$entry"
    done | awk '!seen[$0]++'
}

# store:fsid:pool for each rbd store, the fsid from its cluster's ceph.conf.
function _ngm_rbd_store_locations {
    local fsid entry conf locations=""
    for entry in $(_ngm_words "$NGM_GLANCE_RBD_STORES"); do
        conf=$(_ngm_rbd_conf "$entry")
        fsid=$(iniget "$conf" global fsid)
        [[ -n "$fsid" ]] || die $LINENO "no fsid in $conf"
        locations+="${locations:+,}${entry%%:*}:$fsid:$(_ngm_rbd_pool "$entry")"
    done
    echo "$locations"
}

# The ceph command, as devstack-plugin-ceph runs it; CEPH_CONF_FILE unless
# NGM_CEPH_CONF names another cluster's.
function _ngm_ceph {
    sudo ceph -c "${NGM_CEPH_CONF:-$CEPH_CONF_FILE}" "$@"
}

# An rbd pool, made when missing (devstack-plugin-ceph makes only its own).
function _ngm_ceph_pool {
    local pool=$1
    if ! _ngm_ceph osd pool ls | grep -qx -- "$pool"; then
        _ngm_ceph osd pool create "$pool" 8
        _ngm_ceph osd pool application enable "$pool" rbd
    fi
}

# Glance's cephx user may read and write each pool given: the rbd stores'
# pools, and nova's pool in copy-on-write mode (deleting the last image
# that depends on a deleted instance disk purges that disk, as Glance's
# user). devstack-plugin-ceph grants it GLANCE_CEPH_POOL only. "ceph auth
# caps" replaces every cap, so the current ones are read and kept.
function _ngm_grant_glance_pools {
    local user=${GLANCE_CEPH_USER:-admin} caps
    if [[ "$user" == "admin" ]]; then
        return 0
    fi
    caps=$(_ngm_ceph auth get "client.$user" --format json | \
        "${PYTHON:-python3}" "$_NGM_DEVSTACK_DIR/glance_caps.py" "$@") || \
        die $LINENO "cannot read the caps of client.$user"
    if [[ -n "$caps" ]]; then
        local args
        mapfile -t args <<<"$caps"
        _ngm_ceph auth caps "client.$user" "${args[@]}"
    fi
}

# Each cluster's rbd store pools, made when missing, and Glance's user on
# that cluster granted them (another cluster's Glance user must exist).
function _ngm_prepare_rbd_pools {
    local conf entry pools
    for conf in $(_ngm_rbd_confs); do
        pools=""
        for entry in $(_ngm_words "$NGM_GLANCE_RBD_STORES"); do
            if [[ "$(_ngm_rbd_conf "$entry")" == "$conf" ]]; then
                pools+=" $(_ngm_rbd_pool "$entry")"
            fi
        done
        for entry in $pools; do
            NGM_CEPH_CONF=$conf _ngm_ceph_pool "$entry"
        done
        NGM_CEPH_CONF=$conf _ngm_grant_glance_pools $pools
    done
}

# Copy-on-write snapshots on devstack-plugin-ceph's cluster: nova's cephx
# user moves a deleted disk that images depend on to the trash instead of
# failing silently, and Glance's user may purge it from nova's pool.
function _ngm_configure_ceph_cow {
    local user pool
    user=$(iniget $NOVA_CONF libvirt rbd_user)
    user=${user:-${CINDER_CEPH_USER:-admin}}
    pool=$(iniget $NOVA_CONF libvirt images_rbd_pool)
    pool=${pool:-${NOVA_CEPH_POOL:-vms}}
    _ngm_ceph config set "client.$user" \
        rbd_move_parent_to_trash_on_remove true
    _ngm_grant_glance_pools "$pool"
}

# Refuse layouts that would make the tests prove nothing.
function _ngm_check_layout {
    local files=" $(_ngm_words "$NGM_GLANCE_FILE_STORES") "
    if [[ "$files" != *" $NGM_GLANCE_DEFAULT_STORE "* ]]; then
        die $LINENO "NGM_GLANCE_DEFAULT_STORE=$NGM_GLANCE_DEFAULT_STORE" \
            "is not in NGM_GLANCE_FILE_STORES=$NGM_GLANCE_FILE_STORES"
    fi
    if [[ "$files" != *" $NGM_BOOT_IMAGE_STORE "* ]] || \
        [[ "$NGM_BOOT_IMAGE_STORE" == "$NGM_GLANCE_DEFAULT_STORE" ]]; then
        die $LINENO "NGM_BOOT_IMAGE_STORE=$NGM_BOOT_IMAGE_STORE must be a" \
            "file store other than the default ($NGM_GLANCE_DEFAULT_STORE)"
    fi
}

function _ngm_check_mode {
    case "$NGM_CEPH_NATIVE_SNAPSHOT" in
        flatten|copy-on-write) ;;
        *) die $LINENO "NGM_CEPH_NATIVE_SNAPSHOT=$NGM_CEPH_NATIVE_SNAPSHOT" \
            "is neither flatten nor copy-on-write" ;;
    esac
}

# The package goes into nova's environment.
function install_nova_glance_multistore {
    setup_develop "$NGM_DIR"
    _ngm_link_driver_shim
}

# nova imports compute drivers only as nova.virt.<name>, from its own
# nova/virt/ directory. A regular install puts our shim there, but an
# editable install (setup_develop) only adds the checkout to sys.path and
# cannot place nova/virt/glance_multistore inside nova's package: link the
# shim directory into nova's nova/virt/ instead.
function _ngm_nova_virt_dir {
    local python=${NGM_NOVA_PYTHON:-${NOVA_BIN_DIR:-/usr/local/bin}/python3}
    "$python" -c 'import os, nova.virt; print(os.path.dirname(nova.virt.__file__))'
}

function _ngm_link_driver_shim {
    local virt
    virt=$(_ngm_nova_virt_dir) || die $LINENO "nova is not importable"
    # Whatever an earlier regular install left there is our own shim.
    rm -rf "$virt/glance_multistore"
    ln -s "$NGM_DIR/nova/virt/glance_multistore" "$virt/glance_multistore"
}

function _ngm_unlink_driver_shim {
    local virt
    virt=$(_ngm_nova_virt_dir 2>/dev/null) || return 0
    if [[ -L "$virt/glance_multistore" ]]; then
        rm -f "$virt/glance_multistore"
    fi
}

function _ngm_file_store {
    local conf=$1 store=$2
    mkdir -p "$NGM_GLANCE_DATA_DIR/$store"
    iniset $conf $store filesystem_store_datadir "$NGM_GLANCE_DATA_DIR/$store"
    iniset $conf $store store_description "File store $store"
}

function _ngm_rbd_store {
    local conf=$1 store=${2%%:*} pool
    pool=$(_ngm_rbd_pool "$2")
    iniset $conf $store rbd_store_pool "$pool"
    iniset $conf $store rbd_store_user "$GLANCE_CEPH_USER"
    iniset $conf $store rbd_store_ceph_conf "$(_ngm_rbd_conf "$2")"
    iniset $conf $store store_description "Ceph rbd store $store ($pool)"
}

# An RGW user (made when missing), as radosgw-admin's JSON.
function _ngm_rgw_user {
    local uid=$1 name=$2
    sudo radosgw-admin -c "$CEPH_CONF_FILE" user info --uid "$uid" \
        2>/dev/null && return
    sudo radosgw-admin -c "$CEPH_CONF_FILE" user create --uid "$uid" \
        --display-name "$name" --gen-access-key --gen-secret
}

# An S3 store on devstack-plugin-ceph's RGW: its own RGW user and bucket.
function _ngm_s3_store {
    local conf=$1 store=$2 uid="glance-$2" keys xtrace
    # No secret in the stack log.
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    keys=$(_ngm_rgw_user "$uid" "Glance store $store" |
        python3 "$NGM_DIR/devstack/rgw_keys.py")
    iniset $conf $store s3_store_access_key "${keys%% *}"
    iniset $conf $store s3_store_secret_key "${keys#* }"
    $xtrace
    iniset $conf $store s3_store_host "$NGM_S3_ENDPOINT"
    iniset $conf $store s3_store_bucket "glance-$store"
    iniset $conf $store s3_store_create_bucket_on_put True
    iniset $conf $store s3_store_bucket_url_format path
    iniset $conf $store s3_store_large_object_size "$NGM_S3_LARGE_OBJECT_MIB"
    iniset $conf $store s3_store_large_object_chunk_size "$NGM_S3_CHUNK_MIB"
    iniset $conf $store store_description "S3 store $store (Ceph RGW)"
}

# A Swift store as Glance's service user; credentials in a file of its own
# (0600), never in Glance's database.
function _ngm_swift_store {
    local conf=$1 store=$2 ref="ref-$2" xtrace
    local refs
    refs=$(dirname "$conf")/glance-swift-$store.conf
    touch "$refs"
    chmod 600 "$refs"
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    iniset $refs $ref key "$SERVICE_PASSWORD"
    $xtrace
    iniset $refs $ref user "$SERVICE_PROJECT_NAME:glance"
    iniset $refs $ref auth_address "$KEYSTONE_SERVICE_URI/v3"
    iniset $refs $ref auth_version 3
    iniset $refs $ref user_domain_id default
    iniset $refs $ref project_domain_id default
    iniset $conf $store swift_store_config_file "$refs"
    iniset $conf $store default_swift_reference "$ref"
    iniset $conf $store swift_store_multi_tenant False
    iniset $conf $store swift_store_container "glance-$store"
    iniset $conf $store swift_store_create_container_on_put True
    iniset $conf $store swift_store_large_object_size \
        "$NGM_SWIFT_LARGE_OBJECT_SIZE"
    iniset $conf $store swift_store_large_object_chunk_size \
        "$NGM_SWIFT_CHUNK_SIZE"
    iniset $conf $store store_description "Swift store $store"
}

# A cinder store: volumes of one volume type, made as Glance's service user
# (its credentials in glance-api.conf, as devstack's own cinder store).
function _ngm_cinder_store {
    local conf=$1 store=${2%%:*} type=${2#*:} xtrace
    iniset $conf $store cinder_volume_type "$type"
    iniset $conf $store cinder_store_auth_address "$KEYSTONE_SERVICE_URI/v3"
    iniset $conf $store cinder_store_user_name glance
    xtrace=$(set +o | grep xtrace)
    set +o xtrace
    iniset $conf $store cinder_store_password "$SERVICE_PASSWORD"
    $xtrace
    iniset $conf $store cinder_store_project_name "$SERVICE_PROJECT_NAME"
    iniset $conf $store cinder_store_user_domain_name \
        "${SERVICE_DOMAIN_NAME:-Default}"
    iniset $conf $store cinder_store_project_domain_name \
        "${SERVICE_DOMAIN_NAME:-Default}"
    iniset $conf $store cinder_mount_point_base \
        "$NGM_GLANCE_DATA_DIR/cinder-mnt"
    iniset $conf $store store_description \
        "Cinder store $store (volume type $type)"
}

# Glance multi-store with explicit per-store datadirs: devstack's own
# configure_multiple_file_stores never sets them.
function configure_ngm_glance {
    local conf=$GLANCE_API_CONF
    local backends="" store
    _ngm_check_layout
    for store in $(_ngm_words "$NGM_GLANCE_FILE_STORES"); do
        _ngm_file_store $conf $store
        backends+="${backends:+, }$store:file"
    done
    if _ngm_rbd_enabled; then
        for store in $(_ngm_words "$NGM_GLANCE_RBD_STORES"); do
            _ngm_rbd_store $conf $store
            backends+=", ${store%%:*}:rbd"
        done
        _ngm_prepare_rbd_pools
        # A ceph-native snapshot's only proof is its rbd:// location, and
        # admin sees it only as direct_url (the locations API is for the
        # service role). devstack-plugin-ceph sets the same.
        iniset $conf DEFAULT show_image_direct_url True
    fi
    if is_plugin_enabled devstack-plugin-ceph; then
        for store in $(_ngm_words "$NGM_GLANCE_S3_STORES"); do
            _ngm_s3_store $conf $store
            backends+=", $store:s3"
        done
    fi
    for store in $(_ngm_words "$NGM_GLANCE_SWIFT_STORES"); do
        _ngm_swift_store $conf $store
        backends+=", $store:swift"
    done
    if is_service_enabled cinder; then
        for store in $(_ngm_words "$NGM_GLANCE_CINDER_STORES"); do
            _ngm_cinder_store $conf $store
            backends+=", ${store%%:*}:cinder"
        done
    fi
    if [[ -n "$NGM_GLANCE_HTTP_STORE" ]]; then
        iniset $conf $NGM_GLANCE_HTTP_STORE store_description \
            "Read-only http store"
        backends+=", $NGM_GLANCE_HTTP_STORE:http"
    fi
    iniset $conf DEFAULT enabled_backends "$backends"
    # Copies of snapshots to more stores (copy_to_stores, flavors' extra
    # spec) are Glance's copy-image imports.
    iniset $conf DEFAULT enabled_import_methods \
        "[glance-direct,web-download,copy-image]"
    iniset $conf glance_store default_backend "$NGM_GLANCE_DEFAULT_STORE"
    # Single-store options are ignored once enabled_backends is set.
    inicomment $conf glance_store stores
    inicomment $conf glance_store default_store
    inicomment $conf glance_store filesystem_store_datadir
    # Glance's reserved stores: without staging, copy-image fails.
    for store in staging tasks; do
        mkdir -p "$NGM_GLANCE_DATA_DIR/os_glance_$store"
        iniset $conf os_glance_${store}_store filesystem_store_datadir \
            "$NGM_GLANCE_DATA_DIR/os_glance_$store"
    done
}

# Written to $NOVA_CONF: devstack copies it to nova-cpu.conf when it starts
# nova-compute, so anything written to nova-cpu.conf now would be lost.
function configure_ngm_nova {
    _ngm_check_mode
    iniset $NOVA_CONF DEFAULT compute_driver "$NGM_COMPUTE_DRIVER"
    iniset $NOVA_CONF glance_multistore upload_hooks "$NGM_UPLOAD_HOOKS"
    iniset $NOVA_CONF glance_multistore stores_cache_ttl \
        "$NGM_STORES_CACHE_TTL"
    iniset $NOVA_CONF glance_multistore on_unusable_store \
        "$NGM_ON_UNUSABLE_STORE"
    # Written even when empty: post-config run again undoes an earlier list.
    iniset $NOVA_CONF glance_multistore user_selectable_stores \
        "$NGM_USER_SELECTABLE_STORES"
    iniset $NOVA_CONF glance_multistore copy_to_stores "$NGM_COPY_TO_STORES"
    local locations=$NGM_RBD_STORE_LOCATIONS
    # nova reads Glance's stores detail with the request's own token, and
    # Glance's default policy shows it only to admin or service role
    # holders: for other users nova learns the rbd stores' cluster and
    # pool only from here.
    if [[ -z "$locations" ]] && _ngm_rbd_enabled; then
        locations=$(_ngm_rbd_store_locations)
    fi
    if [[ -n "$locations" ]]; then
        iniset $NOVA_CONF glance_multistore rbd_store_locations "$locations"
    fi
    iniset $NOVA_CONF glance_multistore ceph_native_snapshot \
        "$NGM_CEPH_NATIVE_SNAPSHOT"
    if [[ -n "$NGM_COW_MAX_CHAIN_DEPTH" ]]; then
        iniset $NOVA_CONF glance_multistore copy_on_write_max_chain_depth \
            "$NGM_COW_MAX_CHAIN_DEPTH"
    fi
    if [[ "$NGM_CEPH_NATIVE_SNAPSHOT" == "copy-on-write" ]] && \
        _ngm_rbd_enabled; then
        _ngm_configure_ceph_cow
    fi
    if [[ -n "$NGM_SNAPSHOT_STORE" ]]; then
        iniset $NOVA_CONF glance store "$NGM_SNAPSHOT_STORE"
    else
        # Running post-config again without a store must undo an earlier one.
        inicomment $NOVA_CONF glance store
    fi
}

# The options of our tempest plugin (nova_glance_multistore.tempest_plugin).
function configure_ngm_tempest {
    local stores
    stores=$(_ngm_store_ids)
    iniset $TEMPEST_CONFIG service_available nova_glance_multistore True
    iniset $TEMPEST_CONFIG nova_glance_multistore boot_image_store \
        "$NGM_BOOT_IMAGE_STORE"
    iniset $TEMPEST_CONFIG nova_glance_multistore dedicated_store \
        "$NGM_SNAPSHOT_STORE"
    iniset $TEMPEST_CONFIG nova_glance_multistore ceph_native \
        "$(_ngm_ceph_native)"
    iniset $TEMPEST_CONFIG nova_glance_multistore ceph_native_snapshot \
        "$NGM_CEPH_NATIVE_SNAPSHOT"
    iniset $TEMPEST_CONFIG nova_glance_multistore expected_stores \
        "${stores// /,}"
    iniset $TEMPEST_CONFIG nova_glance_multistore object_stores \
        "$(_ngm_object_store_ids)"
    iniset $TEMPEST_CONFIG nova_glance_multistore site_stores \
        "$NGM_SITE_STORES"
    iniset $TEMPEST_CONFIG nova_glance_multistore user_selectable_stores \
        "$NGM_USER_SELECTABLE_STORES"
    stores=$(_ngm_cinder_store_ids)
    iniset $TEMPEST_CONFIG nova_glance_multistore cinder_stores \
        "$(echo $stores | tr ' ' ',')"
}

if is_service_enabled nova-glance-multistore; then
    if [[ "$1" == "stack" && "$2" == "install" ]]; then
        echo_summary "Installing nova-glance-multistore"
        install_nova_glance_multistore
    elif [[ "$1" == "stack" && "$2" == "post-config" ]]; then
        echo_summary "Configuring nova-glance-multistore"
        if is_service_enabled g-api && \
            [[ "$(trueorfalse True NGM_CONFIGURE_GLANCE)" == "True" ]]; then
            configure_ngm_glance
        fi
        if is_service_enabled nova; then
            configure_ngm_nova
        fi
    elif [[ "$1" == "stack" && "$2" == "test-config" ]]; then
        if is_service_enabled tempest; then
            echo_summary "Configuring tempest for nova-glance-multistore"
            configure_ngm_tempest
        fi
    fi
    if [[ "$1" == "unstack" ]]; then
        # Nothing runs on its own: nova-compute loads the plugin.
        :
    fi
    if [[ "$1" == "clean" ]]; then
        _ngm_unlink_driver_shim
        rm -rf "$NGM_GLANCE_DATA_DIR"
    fi
fi

# Restore xtrace
$_XTRACE_NGM
