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

project = 'nova-glance-multistore'
copyright = 'nova-glance-multistore developers'
extensions = ['oslo_config.sphinxext', 'oslo_config.sphinxconfiggen',
              'sphinx.ext.autodoc']
# The sample nova.conf section (sample-config.rst), made at build time.
config_generator_config_file = (
    '../../etc/oslo-config-generator/nova-glance-multistore.conf')
sample_config_basename = '_static/nova-glance-multistore'
autodoc_member_order = 'bysource'
master_doc = 'index'
exclude_patterns = []
html_theme = 'alabaster'
