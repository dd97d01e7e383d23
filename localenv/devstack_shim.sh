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

# The devstack functions that devstack/settings and devstack/plugin.sh use,
# as small faithful versions, so the local cloud and the functional tests
# run the plugin itself rather than a second copy of its settings:
#
#   source localenv/devstack_shim.sh
#   source devstack/settings
#   source devstack/plugin.sh stack post-config
#
# The caller provides what devstack would: DEST, DATA_DIR, GLANCE_API_CONF,
# NOVA_CONF, TEMPEST_CONFIG, ENABLED_SERVICES, DEVSTACK_PLUGINS and, for
# pip_install/setup_develop, SHIM_PYTHON (the Python of the target
# environment).

ENABLED_SERVICES=${ENABLED_SERVICES:-}
DEVSTACK_PLUGINS=${DEVSTACK_PLUGINS:-}
_DEFINED_PLUGINS=${_DEFINED_PLUGINS:-}
_REQUIRED_PLUGINS=${_REQUIRED_PLUGINS:-}

# die $LINENO "message": like devstack, print where and why, then exit.
function die {
    local line=$1
    shift
    echo "[ERROR] ${BASH_SOURCE[1]}:$line $*" >&2
    exit 1
}

function echo_summary {
    echo "$@"
}

# trueorfalse DEFAULT VARNAME: the normalized boolean value of $VARNAME.
function trueorfalse {
    local default=$1
    local testval=${!2:-}
    case "$testval" in
        1|[yY]|[yY][eE][sS]|[tT][rR][uU][eE]|[oO][nN]) echo "True" ;;
        0|[nN]|[nN][oO]|[fF][aA][lL][sS][eE]|[oO][fF][fF]) echo "False" ;;
        "") echo "$default" ;;
        *) die $LINENO "$2 has an invalid boolean value: $testval" ;;
    esac
}

function define_plugin {
    _DEFINED_PLUGINS+=",$1"
}

function plugin_requires {
    _REQUIRED_PLUGINS+=",$1:$2"
}

function is_plugin_enabled {
    [[ ",$DEVSTACK_PLUGINS," == *",$1,"* ]]
}

function enable_service {
    local service
    for service in "$@"; do
        if ! is_service_enabled "$service"; then
            ENABLED_SERVICES+="${ENABLED_SERVICES:+,}$service"
        fi
    done
}

function disable_service {
    local service
    for service in "$@"; do
        ENABLED_SERVICES=$(echo ",$ENABLED_SERVICES," | \
            sed -e "s/,$service,/,/g" -e 's/^,//' -e 's/,$//')
    done
}

# True when any of the services is enabled; as in devstack, a project
# name stands for any of its services ("glance" for g-api, ...).
function is_service_enabled {
    local service prefix
    for service in "$@"; do
        if [[ ",$ENABLED_SERVICES," == *",$service,"* ]]; then
            return 0
        fi
        case $service in
            nova) prefix=n- ;;
            glance) prefix=g- ;;
            neutron) prefix=q- ;;
            cinder) prefix=c- ;;
            swift) prefix=s- ;;
            *) continue ;;
        esac
        if [[ ",$ENABLED_SERVICES" == *",$prefix"* ]]; then
            return 0
        fi
    done
    return 1
}

function pip_install {
    "${SHIM_PYTHON:?SHIM_PYTHON is not set}" -m pip install \
        --disable-pip-version-check "$@"
}

function setup_develop {
    pip_install -e "$1"
}

# The ini editing below keeps the file's other lines untouched; values are
# passed to awk through the environment so that no character needs escaping.
function _ini_awk {
    local file=$1 program=$2
    local tmp
    tmp=$(mktemp "$file.XXXXXX")
    awk "$program" "$file" >"$tmp" || { rm -f "$tmp"; return 1; }
    cat "$tmp" >"$file"
    rm -f "$tmp"
}

# The awk helpers shared by iniset, iniget and inicomment: section
# tracking and "is this line option $o".
_INI_AWK_COMMON='
    function is_header(line) { return line ~ /^\[[^]]*\][ \t]*$/ }
    function header_is(line, name) {
        sub(/[ \t]+$/, "", line)
        return line == "[" name "]"
    }
    function key_of(line,    eq, key) {
        if (line ~ /^[ \t]*[#;]/) return ""
        eq = index(line, "=")
        if (eq == 0) return ""
        key = substr(line, 1, eq - 1)
        gsub(/^[ \t]+|[ \t]+$/, "", key)
        return key
    }
'

# iniset FILE SECTION OPTION VALUE: set one option, adding the section
# and the option as needed; a repeated option is collapsed into one.
function iniset {
    local file=$1 section=$2 option=$3 value=$4
    [[ -z "$section" || -z "$option" ]] && return
    [[ -e "$file" ]] || touch "$file"
    INI_S=$section INI_O=$option INI_V=$value _ini_awk "$file" \
        "$_INI_AWK_COMMON"'
        BEGIN { s = ENVIRON["INI_S"]; o = ENVIRON["INI_O"]
                v = ENVIRON["INI_V"]; inside = 0; done = 0; seen = 0
                blanks = "" }
        # Blank lines ending a section are held so that a new option goes
        # right after the last option of the section.
        inside && /^[ \t]*$/ { blanks = blanks $0 "\n"; next }
        is_header($0) {
            if (inside && !done) { print o " = " v; done = 1 }
            printf "%s", blanks; blanks = ""
            inside = header_is($0, s)
            if (inside) seen = 1
            print; next
        }
        inside && key_of($0) == o {
            printf "%s", blanks; blanks = ""
            if (!done) print o " = " v
            done = 1; next
        }
        { printf "%s", blanks; blanks = ""; print }
        END {
            if (!done) {
                if (!seen) {
                    printf "%s", blanks; blanks = ""
                    print ""; print "[" s "]"
                }
                print o " = " v
            }
            printf "%s", blanks
        }'
}

# iniget FILE SECTION OPTION: the value, empty when unset.
function iniget {
    local file=$1 section=$2 option=$3
    [[ -e "$file" ]] || return 0
    INI_S=$section INI_O=$option awk "$_INI_AWK_COMMON"'
        BEGIN { s = ENVIRON["INI_S"]; o = ENVIRON["INI_O"]; inside = 0 }
        is_header($0) { inside = header_is($0, s); next }
        inside && key_of($0) == o {
            v = substr($0, index($0, "=") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", v)
            print v; exit
        }' "$file"
}

# inicomment FILE SECTION OPTION: comment the option out.
function inicomment {
    local file=$1 section=$2 option=$3
    [[ -e "$file" ]] || return 0
    INI_S=$section INI_O=$option _ini_awk "$file" "$_INI_AWK_COMMON"'
        BEGIN { s = ENVIRON["INI_S"]; o = ENVIRON["INI_O"]; inside = 0 }
        is_header($0) { inside = header_is($0, s); print; next }
        inside && key_of($0) == o { print "#" $0; next }
        { print }'
}
